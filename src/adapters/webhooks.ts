export type WebhookEvent = 'start' | 'success' | 'failure';

export interface Webhook {
  url: string;
  kind: 'healthchecks' | 'ntfy' | 'json';
  events: readonly WebhookEvent[];
}

/**
 * One HTTP ping, in the convention of the service it goes to:
 * - Healthchecks: `<url>/start`, `<url>` for success, `<url>/fail`, with the summary as body;
 * - ntfy: a POST of the message to the topic URL, with a title, a priority and a tag;
 * - json: a POST of `{ event, summary, record }` for any webhook.
 */
export async function sendWebhook(
  hook: Webhook,
  event: WebhookEvent,
  message: { title: string; text: string; record: unknown },
  timeoutMs: number,
): Promise<number> {
  let url = hook.url;
  let init: RequestInit;
  if (hook.kind === 'healthchecks') {
    const base = hook.url.replace(/\/+$/, '');
    url = event === 'start' ? `${base}/start` : event === 'failure' ? `${base}/fail` : base;
    init = {
      method: 'POST',
      body: message.text,
      headers: { 'content-type': 'text/plain; charset=utf-8' },
    };
  } else if (hook.kind === 'ntfy') {
    init = {
      method: 'POST',
      body: message.text,
      headers: {
        // HTTP headers are Latin-1: ntfy reads RFC 2047 encoded words for anything else.
        title: `=?UTF-8?B?${Buffer.from(message.title).toString('base64')}?=`,
        priority: event === 'failure' ? 'high' : 'default',
        tags:
          event === 'failure'
            ? 'warning'
            : event === 'success'
              ? 'white_check_mark'
              : 'floppy_disk',
      },
    };
  } else {
    init = {
      method: 'POST',
      body: JSON.stringify({ event, summary: message.text, record: message.record }),
      headers: { 'content-type': 'application/json' },
    };
  }
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  await response.arrayBuffer();
  // The host only: the path may hold a ping key.
  if (!response.ok) throw new Error(`HTTP ${response.status} from ${new URL(url).host}`);
  return response.status;
}
