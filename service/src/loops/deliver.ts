// One delivery attempt of an outbox message, and the retry schedule around it.
//
// The outbox relay calls deliverMessage() for a due message and then either deletes it
// ('delivered', 'gone') or reschedules it with retryDelayMs() until MAX_DELIVERY_ATTEMPTS.

import type { Agent as HttpAgent } from 'node:http';
import type { Agent as HttpsAgent } from 'node:https';
import axios from 'axios';
import type { OutboxMessage } from '../domain/types.ts';
import { webhookHeaders } from '../domain/webhook-signature.ts';

export interface DeliveryResult {
  outcome: 'delivered' | 'retry' | 'gone';
  status: number | null;
  error: string | null;
  retryAfterMs: number | null;
}

export interface DeliveryOptions {
  timeoutMs: number;
  /** The clock, in epoch seconds, used for the webhook-timestamp header and Retry-After dates. */
  nowSeconds: number;
  httpAgent?: HttpAgent;
  httpsAgent?: HttpsAgent;
}

/**
 * Attempts before a message is given up. With the default backoff (base 1 s, doubling, cap 1 h)
 * the waits after attempts 1..11 are at most 1, 2, 4, …, 1024 s, so the cap is never reached and
 * the worst-case span from the first to the twelfth attempt is 2047 s ≈ 34 minutes of backoff
 * (≈ 17 minutes expected with full jitter), plus up to 12 request timeouts and any longer
 * Retry-After a receiver asks for. It is not "about a day": that would take ~35 attempts at the
 * worst case (11 doubling waits + 23 capped hours) or a larger base.
 */
export const MAX_DELIVERY_ATTEMPTS = 12;

/** Largest Retry-After honoured, so a receiver cannot park a message for ever. */
export const MAX_RETRY_AFTER_MS = 24 * 3_600_000;
/** Receivers' response bodies are not needed; this bounds what a hostile one can make us buffer. */
const MAX_RESPONSE_BYTES = 1024 * 1024;
const MAX_ERROR_CHARS = 200;
const MIN_DELAY_MS = 100;

function truncate(text: string, max: number = MAX_ERROR_CHARS): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** Short error text that never carries the secret or the body. */
function safeError(text: string, message: OutboxMessage): string {
  let out = text.replace(/[\r\n\t]+/g, ' ');
  if (message.secret) out = out.split(message.secret).join('[secret]');
  if (message.body.length >= 16) out = out.split(message.body).join('[body]');
  return truncate(out.trim());
}

/** Retry-After as delay-seconds or an HTTP date, in ms from `nowMs`; null when absent or unparseable. */
export function parseRetryAfter(value: unknown, nowMs: number): number | null {
  if (Array.isArray(value)) value = value[0];
  if (typeof value !== 'string') return null;
  const text = value.trim();
  if (text === '') return null;
  let ms: number;
  if (/^\d+$/.test(text)) {
    ms = Number(text) * 1000;
  } else {
    const at = Date.parse(text);
    if (Number.isNaN(at)) return null;
    ms = at - nowMs;
  }
  if (!Number.isFinite(ms)) return MAX_RETRY_AFTER_MS;
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(0, Math.round(ms)));
}

function describeNetworkError(err: unknown, timeoutMs: number, timedOut: boolean): string {
  if (timedOut) return `timeout: no complete response within ${timeoutMs} ms`;
  if (axios.isAxiosError(err)) {
    const code = err.code ?? '';
    if (code === 'ECONNABORTED' || code === 'ETIMEDOUT' || /timeout/i.test(err.message)) {
      return `timeout after ${timeoutMs} ms${code ? ` (${code})` : ''}`;
    }
    const cause = (err.cause as { code?: unknown } | undefined)?.code;
    const detail = code || (typeof cause === 'string' ? cause : '');
    return `network error${detail ? ` ${detail}` : ''}: ${err.message}`;
  }
  if (err instanceof Error) return `network error: ${err.message}`;
  return 'network error';
}

/** POSTs the message, signed with its subscription's secret, and classifies the response. */
export async function deliverMessage(message: OutboxMessage, options: DeliveryOptions): Promise<DeliveryResult> {
  const nowSeconds = Math.floor(options.nowSeconds);
  let headers: Record<string, string>;
  try {
    headers = webhookHeaders(message.secret, message.message_id, message.body, nowSeconds);
  } catch (err) {
    // A malformed stored secret: nothing the receiver can fix, but the relay decides what to do with it.
    return {
      outcome: 'retry',
      status: null,
      error: safeError(`signing failed: ${err instanceof Error ? err.message : String(err)}`, message),
      retryAfterMs: null,
    };
  }

  // axios's `timeout` is reset by socket activity; the signal bounds the whole exchange.
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, options.timeoutMs);
  try {
    const response = await axios.request<string>({
      method: 'POST',
      url: message.url,
      // A Buffer is sent byte for byte (a string would be trimmed by axios's JSON transform).
      data: Buffer.from(message.body, 'utf8'),
      headers,
      responseType: 'text',
      maxRedirects: 0,
      validateStatus: () => true,
      timeout: options.timeoutMs,
      signal: controller.signal,
      maxContentLength: MAX_RESPONSE_BYTES,
      proxy: false,
      adapter: 'http',
      httpAgent: options.httpAgent,
      httpsAgent: options.httpsAgent,
    });
    const status = response.status;
    if (status >= 200 && status < 300) return { outcome: 'delivered', status, error: null, retryAfterMs: null };
    if (status === 410) return { outcome: 'gone', status, error: 'HTTP 410 Gone', retryAfterMs: null };
    const retryAfterMs =
      status === 429 || status === 503 ? parseRetryAfter(response.headers['retry-after'], nowSeconds * 1000) : null;
    const reason = typeof response.statusText === 'string' && response.statusText ? ` ${response.statusText}` : '';
    // The response body is left out: a receiver may echo the payload back.
    return {
      outcome: 'retry',
      status,
      error: safeError(`HTTP ${status}${reason}`, message),
      retryAfterMs,
    };
  } catch (err) {
    return {
      outcome: 'retry',
      status: null,
      error: safeError(describeNetworkError(err, options.timeoutMs, timedOut), message),
      retryAfterMs: null,
    };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Exponential backoff with full jitter: random() × min(cap, base × 2^(attempts−1)), at least 100 ms.
 * `attempts` is how many attempts have been made so far (values below 1 count as 1).
 */
export function nextAttemptDelayMs(
  attempts: number,
  random: () => number = Math.random,
  baseMs = 1000,
  capMs = 3_600_000,
): number {
  const n = Number.isFinite(attempts) ? Math.max(1, Math.floor(attempts)) : 1;
  // 2^52 already exceeds any sensible cap; clamping the exponent keeps the arithmetic finite.
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(n - 1, 52));
  let r = random();
  if (!Number.isFinite(r) || r < 0) r = 0;
  if (r > 1) r = 1;
  return Math.max(MIN_DELAY_MS, Math.floor(r * ceiling));
}

/** The wait before the next attempt: the backoff, or the receiver's Retry-After when that is longer. */
export function retryDelayMs(
  attempts: number,
  result: DeliveryResult,
  random: () => number = Math.random,
  baseMs = 1000,
): number {
  return Math.max(result.retryAfterMs ?? 0, nextAttemptDelayMs(attempts, random, baseMs));
}
