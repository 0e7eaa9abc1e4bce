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

// One page of DAGs at a time (the API's default size); `#/after/<id>` is the page after that DAG.
async function dagListView(after) {
  const { dags, importErrors, nextAfter } = await api(`/api/dags${after ? `?after=${encodeURIComponent(after)}` : ''}`);
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
  const pages = [
    after ? '<a href="#/">first page</a>' : '',
    nextAfter ? `<a data-testid="next-page" href="#/after/${seg(nextAfter)}">next page</a>` : '',
  ].filter(Boolean);
  const pager = pages.length > 0 ? `<p>${pages.join(' · ')}</p>` : '';
  return `<h1>DAGs</h1><p><a href="#/assets">Assets</a></p><table><tr><th>DAG</th><th>owner</th><th>schedule</th><th></th><th>next run due</th><th>recent runs</th></tr>${rows.join('')}</table>${pager}${errors}`;
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

// Task groups folded in the grid: a group's tasks show under its row once it is opened.
const openGroups = new Set();
const GROUP_STATE_ORDER = ['failed', 'upstream_failed', 'up_for_retry', 'running', 'scheduled', 'up_for_reschedule'];

/** A group's cell: its worst task state, else success once all succeeded (skips aside). */
function groupState(states) {
  const worst = GROUP_STATE_ORDER.find((state) => states.includes(state));
  if (worst) return worst;
  if (states.every((s) => s === 'skipped')) return 'skipped';
  return states.every((s) => s === 'success' || s === 'skipped') ? 'success' : 'none';
}

function groupRows(dagId, tasks, runs, taskRow) {
  const rows = [];
  for (const [i, t] of tasks.entries()) {
    const top = t.group?.split('.')[0];
    if (top === undefined) {
      rows.push(taskRow(t, ''));
      continue;
    }
    const open = openGroups.has(`${dagId}/${top}`);
    if (tasks[i - 1]?.group?.split('.')[0] !== top) {
      const members = tasks.filter((m) => m.group?.split('.')[0] === top);
      const cells = runs
        .map((r) => {
          const state = groupState(members.map((m) => r.tasks[m.id] ?? 'none'));
          return `<td><span class="cell" data-testid="group-cell-${esc(top)}" data-state="${state}" title="group ${esc(top)} in ${esc(r.runId)}: ${state}"></span></td>`;
        })
        .join('');
      rows.push(
        `<tr data-group="${esc(top)}"><td><button type="button" data-fold="${esc(top)}" aria-expanded="${open}">${open ? '▾' : '▸'} ${esc(top)} (${members.length})</button></td>${cells}</tr>`,
      );
    }
    rows.push(taskRow(t, open ? '' : ' hidden'));
  }
  return rows;
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
  const rows = groupRows(
    dagId,
    grid.tasks,
    runs,
    (t, hidden) =>
      `<tr data-task="${esc(t.id)}"${hidden}><td>${esc(t.id)}</td>${runs
        .map(
          (r) =>
            `<td><a class="cell" data-testid="cell-${esc(t.id)}" data-state="${r.tasks[t.id] ?? 'none'}" title="${esc(t.id)} in ${esc(r.runId)}: ${r.tasks[t.id] ?? 'none'}${mappedOf(r, t.id)}" href="#/dags/${seg(dagId)}/runs/${seg(r.runId)}/tasks/${seg(t.id)}"></a>${r.mapped?.[t.id] ? `<small data-testid="mapped-${esc(t.id)}">${r.mapped[t.id].done}/${r.mapped[t.id].total}</small>` : ''}</td>`,
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

/** A mapped task's cell says how many of its indexes are done: " (3 of 5 mapped instances done)". */
const mappedOf = (run, taskId) =>
  run.mapped?.[taskId] ? ` (${run.mapped[taskId].done} of ${run.mapped[taskId].total} mapped instances done)` : '';

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
    ${
      t.indexes?.length
        ? `<h2>Mapped instances</h2><table id="map-indexes"><tr><th>map index</th><th>state</th><th>try</th><th>error</th></tr>${t.indexes
            .map(
              (i) =>
                `<tr><td><a href="#/dags/${seg(dagId)}/runs/${seg(runId)}/tasks/${seg(`${taskId}[${i.mapIndex}]`)}">${i.mapIndex}</a></td><td><span class="cell" data-state="${i.state}"></span> ${esc(i.state)}</td><td>${i.try}</td><td class="error">${esc(i.error ?? '')}</td></tr>`,
            )
            .join('')}</table>`
        : ''
    }
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

// Assets: which DAGs update each one and which run on it, and its newest events.
const dagLink = (dagId) => `<a href="#/dags/${seg(dagId)}">${esc(dagId)}</a>`;
const assetLink = (uri) => `<a href="#/assets/${seg(uri)}">${esc(uri)}</a>`;

async function assetListView() {
  const { assets } = await api('/api/assets');
  const rows = assets.map(
    (a) => `<tr data-asset="${esc(a.uri)}"><td>${assetLink(a.uri)}</td>
    <td>${a.producers.map((p) => `${dagLink(p.dagId)}.${esc(p.taskId)}`).join('<br>') || '-'}</td>
    <td>${a.consumers.map(dagLink).join('<br>') || '-'}</td>
    <td>${a.lastEvent ? `${esc(a.lastEvent.at)} <span class="muted">${esc(a.lastEvent.sourceDagId)}</span>` : '-'}</td></tr>`,
  );
  return `<p><a href="#/">DAGs</a></p><h1>Assets</h1><table><tr><th>asset</th><th>updated by</th><th>runs</th><th>last event</th></tr>${rows.join('')}</table>`;
}

async function assetView(uri) {
  const a = await api(`/api/assets?uri=${encodeURIComponent(uri)}`);
  const events = a.events.map(
    (e) => `<tr data-event="${e.id}"><td>${e.id}</td><td>${esc(e.at)}</td><td>${dagLink(e.sourceDagId)}</td>
    <td><a href="#/dags/${seg(e.sourceDagId)}/runs/${seg(e.sourceRunId)}">${esc(e.sourceRunId)}</a></td><td>${esc(e.sourceTaskId)}</td>
    <td><code>${e.extra === null ? '-' : esc(JSON.stringify(e.extra))}</code></td></tr>`,
  );
  return `<p><a href="#/assets">Assets</a></p><h1>${esc(a.uri)}</h1>
  <p>Updated by: ${a.producers.map((p) => `${dagLink(p.dagId)}.${esc(p.taskId)}`).join(', ') || '-'}</p>
  <p>Runs: ${a.consumers.map(dagLink).join(', ') || '-'}</p>
  <h2>Recent events</h2><table><tr><th>id</th><th>at</th><th>DAG</th><th>run</th><th>task</th><th>extra</th></tr>${events.join('')}</table>`;
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
    else if (parts[0] === 'assets' && parts[1]) html = await assetView(parts.slice(1).join('/'));
    else if (parts[0] === 'assets') html = await assetListView();
    else html = await dagListView(parts[0] === 'after' ? parts[1] : undefined);
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
  if (button.dataset.fold) {
    const key = `${unseg(location.hash.split('/')[2])}/${button.dataset.fold}`;
    if (!openGroups.delete(key)) openGroups.add(key);
    await render();
    return;
  }
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
