// The web UI: a module served as a file (the server's Content-Security-Policy forbids inline script).
/* global document, location, window, fetch, URLSearchParams, CSS, alert, EventSource -- a browser module */
import { graphSvg } from './ui-graph.js';
const token = new URLSearchParams(location.search).get('token');
const headers = token ? { authorization: `Bearer ${token}` } : {};
const view = document.getElementById('view');
const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

// Ids in paths, as runner/web/route-ids.ts writes them: `.` and `..` are ids too, and URL parsers
// drop them as dot segments, so they are written `~.` and `~..` (and `~` itself `%7E`).
const seg = (id) => {
  const encoded = encodeURIComponent(id).replaceAll('~', '%7E');
  return encoded === '.' || encoded === '..' ? `~${encoded}` : encoded;
};
const unseg = (segment) => decodeURIComponent(segment.startsWith('~') ? segment.slice(1) : segment);

// Without a bearer token, a change needs the server's CSRF token, which only its own pages can read.
let csrf;
async function csrfToken() {
  csrf ??= fetch('/api/csrf', { headers })
    .then((response) => response.json())
    .then((json) => json.csrfToken ?? '')
    .catch((error) => {
      csrf = undefined;
      throw error;
    });
  return csrf;
}

async function api(path, body) {
  const response = await fetch(
    path,
    body === undefined
      ? { headers }
      : {
          method: 'POST',
          headers: { ...headers, 'content-type': 'application/json', 'x-runway-csrf': await csrfToken() },
          body: JSON.stringify(body),
        },
  );
  const json = await response.json();
  if (!response.ok) throw new Error(json.error ?? response.statusText);
  return json;
}

// Paused by a user and active DAGs have the button; held and broken ones say why they do not run.
function dagStateCell(d) {
  const importError = d.importError
    ? `<div class="error">${esc(d.importError.file)}${d.importError.line ? `:${d.importError.line}` : ''}: ${esc(d.importError.message)}</div>`
    : '';
  if (d.state === 'held') return `<span class="muted">paused: ${esc(d.stateReason)}</span>${importError}`;
  if (d.state === 'import_error') return `<span class="error">import error</span>${importError}`;
  return `<button type="button" data-pause="${esc(d.dagId)}" data-paused="${d.paused}">${d.paused ? 'Unpause' : 'Pause'}</button>${d.paused ? '<span class="muted">paused</span>' : ''}${importError}`;
}

async function dagListView() {
  const { dags, importErrors } = await api('/api/dags');
  const rows = dags.map(
    (d) => `<tr data-dag="${esc(d.dagId)}">
    <td><a href="#/dags/${seg(d.dagId)}">${esc(d.dagId)}</a><div class="muted">${esc(d.description)}</div></td>
    <td>${esc(d.owner)}</td><td>${esc(d.schedule ?? 'manual')}</td>
    <td data-testid="state-${esc(d.dagId)}">${dagStateCell(d)}</td>
    <td>${esc(d.nextRunDue ?? '-')}</td>
    <td>${d.recentRuns.map((r) => `<span class="cell" title="${esc(r.runId)}: ${r.state}" data-state="${r.state}"></span>`).join(' ')}${d.warning ? `<div class="error">${esc(d.warning)}</div>` : ''}</td></tr>`,
  );
  const errors =
    importErrors.length === 0
      ? ''
      : `<h2>Import errors</h2><ul>${importErrors
          .map((e) => `<li class="error"><b>${esc(e.file)}</b>: ${esc(e.message)}</li>`)
          .join('')}</ul>`;
  return `<h1>DAGs</h1><table><tr><th>DAG</th><th>owner</th><th>schedule</th><th></th><th>next run due</th><th>recent runs</th></tr>${rows.join('')}</table>${errors}`;
}

function paramsForm(schema) {
  const props = schema?.properties ?? {};
  return Object.entries(props)
    .map(([name, p]) => {
      const id = `param-${esc(name)}`;
      if (p.type === 'boolean')
        return `<label><input type="checkbox" name="${esc(name)}" data-type="boolean" ${p.default ? 'checked' : ''}/> ${esc(name)}</label>`;
      if (p.enum)
        return `<label>${esc(name)} <select name="${esc(name)}">${p.enum.map((v) => `<option ${v === p.default ? 'selected' : ''}>${esc(v)}</option>`).join('')}</select></label>`;
      const type = p.type === 'number' || p.type === 'integer' ? 'number' : 'text';
      return `<label>${esc(name)} <input id="${id}" type="${type}" name="${esc(name)}" data-type="${type}" value="${esc(p.default ?? '')}"/></label>`;
    })
    .join('');
}

// The graph, coloured by the run's task states; a node opens its task instance in that run.
async function graphSection(dagId, runId) {
  const graph = await api(`/api/dags/${seg(dagId)}/graph${runId ? `?run=${encodeURIComponent(runId)}` : ''}`);
  const href = (taskId) =>
    graph.runId ? `#/dags/${seg(dagId)}/runs/${seg(graph.runId)}/tasks/${seg(taskId)}` : undefined;
  const caption = runId
    ? ''
    : `<p class="muted">${graph.runId ? `Latest run: ${esc(graph.runId)}` : 'No runs yet.'}</p>`;
  return `<h2>Graph</h2>${caption}${graphSvg(graph, href)}`;
}

async function gridView(dagId) {
  const grid = await api(`/api/dags/${seg(dagId)}/grid`);
  const graph = await graphSection(dagId);
  const runs = grid.runs;
  const head = runs
    .map(
      (r) =>
        `<th title="${esc(r.runId)}"><a class="cell" data-run="${esc(r.runId)}" data-state="${r.state}" href="#/dags/${seg(dagId)}/runs/${seg(r.runId)}"></a></th>`,
    )
    .join('');
  const rows = grid.tasks.map(
    (t) =>
      `<tr data-task="${esc(t.id)}"><td>${esc(t.id)}</td>${runs
        .map(
          (r) =>
            `<td><a class="cell" data-testid="cell-${esc(t.id)}" data-state="${r.tasks[t.id] ?? 'none'}" title="${esc(t.id)} in ${esc(r.runId)}: ${r.tasks[t.id] ?? 'none'}" href="#/dags/${seg(dagId)}/runs/${seg(r.runId)}/tasks/${seg(t.id)}"></a></td>`,
        )
        .join('')}</tr>`,
  );
  const notice = grid.held
    ? `<p class="muted" id="dag-notice">Not run here: ${esc(grid.held)}</p>`
    : grid.warning
      ? `<p class="error" id="dag-notice">${esc(grid.warning)}</p>`
      : '';
  return `<h1>${esc(dagId)}</h1>${notice}
    <form id="trigger" data-dag="${esc(dagId)}">${paramsForm(grid.params)}<button type="submit">Trigger</button><span id="trigger-result" class="muted"></span></form>
    ${graph}
    <h2>Grid</h2><p class="muted">Runs, newest first, by task.</p>
    <table id="grid"><tr><th>task</th>${head}</tr>${rows.join('')}</table>`;
}

async function taskView(dagId, runId, taskId, tryNumber) {
  const t = await api(
    `/api/dags/${seg(dagId)}/runs/${seg(runId)}/tasks/${seg(taskId)}${tryNumber ? `?try=${tryNumber}` : ''}`,
  );
  const ti = t.taskInstance;
  const tries = Array.from({ length: Math.max(t.tries, 1) }, (_, i) => i + 1)
    .map((n) =>
      n === t.try
        ? `<b>try ${n}</b>`
        : `<a href="#/dags/${seg(dagId)}/runs/${seg(runId)}/tasks/${seg(taskId)}/try/${n}">try ${n}</a>`,
    )
    .join(' ');
  return `<p><a href="#/dags/${seg(dagId)}">${esc(dagId)}</a> / ${esc(runId)}</p>
    <h1>${esc(taskId)} <span class="cell" data-state="${ti.state}"></span> <span id="task-state">${esc(ti.state)}</span></h1>
    ${ti.error ? `<p class="error">${esc(ti.error)}</p>` : ''}
    <p>${tries}${ti.host ? ` · on ${esc(ti.host)}` : ''}${ti.durationMs !== undefined ? ` · ${ti.durationMs} ms` : ''}</p>
    <p><button type="button" data-action="clear" data-run="${esc(runId)}" data-task="${esc(taskId)}">Clear</button>
       <button type="button" data-action="mark-success" data-run="${esc(runId)}" data-task="${esc(taskId)}">Mark success</button>
       <button type="button" data-action="mark-failed" data-run="${esc(runId)}" data-task="${esc(taskId)}">Mark failed</button></p>
    <h2>Log</h2><pre id="log">${esc(t.logs.join('\n')) || '<span class="muted">no log lines</span>'}</pre>
    <h2>Output</h2><pre id="output">${esc(JSON.stringify(t.output, null, 2))}</pre>`;
}

async function runView(dagId, runId) {
  const { run, taskInstances, deadlineMiss } = await api(`/api/dags/${seg(dagId)}/runs/${seg(runId)}`);
  const miss = deadlineMiss
    ? `<p class="error" id="deadline-miss">Missed its deadline: not finished by ${esc(deadlineMiss.deadline)} (${esc(deadlineMiss.state)} then)${deadlineMiss.notifiedAt ? `; alert sent ${esc(deadlineMiss.notifiedAt)}` : ''}</p>`
    : '';
  const graph = await graphSection(dagId, runId);
  const rows = Object.entries(taskInstances).map(
    ([taskId, ti]) => `<tr data-task="${esc(taskId)}">
    <td><a href="#/dags/${seg(dagId)}/runs/${seg(runId)}/tasks/${seg(taskId)}">${esc(taskId)}</a></td>
    <td><span class="cell" data-state="${ti.state}"></span> ${esc(ti.state)}</td><td>${ti.try}</td>
    <td>${ti.durationMs ?? '-'}</td><td>${esc(ti.host ?? '-')}</td><td class="error">${esc(ti.error ?? '')}</td></tr>`,
  );
  return `<p><a href="#/dags/${seg(dagId)}">${esc(dagId)}</a></p>
    <h1>${esc(runId)} <span class="cell" data-state="${run.state}"></span> <span id="run-state">${esc(run.state)}</span></h1>
    <p class="muted">${esc(run.runType)} · logical date ${esc(run.logicalDate)} · data interval ${esc(run.dataIntervalStart)} to ${esc(run.dataIntervalEnd)}</p>
    ${miss}<p>conf <code>${esc(JSON.stringify(run.conf))}</code></p>
    <p><button type="button" data-action="clear-failed" data-run="${esc(runId)}">Clear failed tasks</button></p>
    ${graph}
    <table><tr><th>task</th><th>state</th><th>try</th><th>ms</th><th>host</th><th>error</th></tr>${rows.join('')}</table>`;
}

function formValues(form) {
  if (!form) return undefined;
  const values = [...form.querySelectorAll('input, select')].map((input) => [input.name, input.value, input.checked]);
  return { dag: form.dataset.dag, values };
}

function restoreFormValues(form, entered) {
  if (!form || !entered || form.dataset.dag !== entered.dag) return;
  for (const [name, value, checked] of entered.values) {
    const input = form.querySelector(`[name="${CSS.escape(name)}"]`);
    if (!input) continue;
    if (input.type === 'checkbox') input.checked = checked;
    else input.value = value;
  }
}

let rendering = false;
async function render() {
  if (rendering) return;
  rendering = true;
  try {
    const parts = location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(unseg);
    // Keep a half-filled trigger form: do not re-render the DAG page over it.
    if (document.activeElement?.closest?.('#trigger')) return;
    let html;
    if (parts[0] === 'dags' && parts[2] === 'runs' && parts[4] === 'tasks')
      html = await taskView(parts[1], parts[3], parts[5], parts[7]);
    else if (parts[0] === 'dags' && parts[2] === 'runs' && parts[3]) html = await runView(parts[1], parts[3]);
    else if (parts[0] === 'dags' && parts[1]) html = await gridView(parts[1]);
    else html = await dagListView();
    // The page may have changed while the data was fetched: what the user has entered in the
    // trigger form survives the re-render.
    if (document.activeElement?.closest?.('#trigger')) return;
    const entered = formValues(document.getElementById('trigger'));
    view.innerHTML = html;
    restoreFormValues(document.getElementById('trigger'), entered);
    document.getElementById('updated').textContent = `updated ${new Date().toLocaleTimeString()}`;
  } catch (error) {
    view.innerHTML = `<p class="error">${esc(error.message)}</p>`;
  } finally {
    rendering = false;
  }
}

view.addEventListener('click', async (event) => {
  const button = event.target.closest('button');
  if (!button || button.type === 'submit') return;
  const parts = location.hash.replace(/^#\/?/, '').split('/').filter(Boolean).map(unseg);
  try {
    if (button.dataset.pause)
      await api(`/api/dags/${seg(button.dataset.pause)}/pause`, { paused: button.dataset.paused !== 'true' });
    const { action, run, task } = button.dataset;
    if (action === 'clear') await api(`/api/dags/${seg(parts[1])}/runs/${seg(run)}/clear`, { task });
    if (action === 'clear-failed') await api(`/api/dags/${seg(parts[1])}/runs/${seg(run)}/clear`, { onlyFailed: true });
    if (action?.startsWith('mark-'))
      await api(`/api/dags/${seg(parts[1])}/runs/${seg(run)}/tasks/${seg(task)}/mark`, {
        state: action.slice(5),
      });
    await render();
  } catch (error) {
    alert(error.message);
  }
});

view.addEventListener('submit', async (event) => {
  event.preventDefault();
  const form = event.target;
  const conf = {};
  for (const input of form.querySelectorAll('input, select')) {
    if (input.dataset.type === 'boolean') conf[input.name] = input.checked;
    else if (input.dataset.type === 'number') {
      if (input.value !== '') conf[input.name] = Number(input.value);
    } else if (input.value !== '') conf[input.name] = input.value;
  }
  const dagId = unseg(location.hash.split('/')[2]);
  const result = document.getElementById('trigger-result');
  try {
    const run = await api(`/api/dags/${seg(dagId)}/trigger`, { conf });
    result.textContent = ` created ${run.runId}${run.warning ? `; ${run.warning}` : ''}`;
    result.className = run.warning ? 'error' : 'muted';
    document.activeElement?.blur();
    await render();
  } catch (error) {
    result.textContent = ` ${error.message}`;
    result.className = 'error';
  }
});

window.addEventListener('hashchange', render);
const events = new EventSource(`/api/events${token ? `?token=${encodeURIComponent(token)}` : ''}`);
events.addEventListener('refresh', render);
render();
