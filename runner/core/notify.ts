/**
 * Notifications when a run or task ends: Slack incoming webhooks. The webhook URL is read from the
 * environment variable the DAG names, when the notification is sent, and never logged.
 */
import type { Notification, NotifyEvent } from './dag-options.ts';
import type { Logger } from './operator.ts';

export interface NotifyDeps {
  env: Readonly<Record<string, string | undefined>>;
  fetch: typeof fetch;
  log: Logger;
}

export async function sendNotifications(
  notifications: readonly Notification[] | undefined,
  event: NotifyEvent,
  text: string,
  deps: NotifyDeps,
): Promise<void> {
  for (const notification of notifications ?? []) {
    if (!notification.on.includes(event)) continue;
    if (notification.type !== 'slack') {
      deps.log.warn(`notification type "${notification.type}" is not sent by Runway; use slack`);
      continue;
    }
    await sendSlack(notification.webhookUrlEnv, text, deps);
  }
}

/** Posts `text` to the Slack webhook whose URL is in the environment variable `webhookUrlEnv`. */
export async function sendSlack(webhookUrlEnv: string, text: string, deps: NotifyDeps): Promise<void> {
  const url = deps.env[webhookUrlEnv];
  if (!url) {
    deps.log.warn(`Slack notification skipped: environment variable ${webhookUrlEnv} is not set`);
    return;
  }
  try {
    const response = await deps.fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text }),
      signal: AbortSignal.timeout(10_000),
    });
    if (!response.ok) {
      deps.log.warn(`Slack notification (${webhookUrlEnv}) answered HTTP ${response.status}`);
    }
  } catch (error) {
    // The error of a failed fetch can quote the URL; say only which variable it came from.
    deps.log.warn(`Slack notification (${webhookUrlEnv}) failed: ${(error as Error).name}`);
  }
}
