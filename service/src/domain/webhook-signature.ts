// Standard Webhooks signing and verification (https://www.standardwebhooks.com/).
//
// A message is signed with HMAC-SHA256 over `${id}.${timestamp}.${body}` using the
// base64-decoded part of a "whsec_<base64>" secret; the signature header carries one or
// more space-separated "v1,<base64 signature>" entries so receivers can rotate keys.
//
// This module depends on node:crypto only: the n8n Handoff Trigger node verifies
// callbacks with the same code, so it must not import anything from the service.

import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const WEBHOOK_SECRET_PREFIX = 'whsec_';
export const DEFAULT_WEBHOOK_TOLERANCE_SECONDS = 300;

/** Upper bound on signature entries looked at in one header (bounds the work per request). */
const MAX_SIGNATURE_ENTRIES = 32;
const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const TIMESTAMP_RE = /^\d{1,15}$/;

export interface WebhookHeaderValues {
  id?: string;
  timestamp?: string;
  signature?: string;
}

export type WebhookVerification =
  | { ok: true }
  | { ok: false; reason: 'missing_headers' | 'stale_timestamp' | 'bad_signature' };

export interface WebhookHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
  'content-type': 'application/json';
  [name: string]: string;
}

/** A fresh secret: "whsec_" followed by base64 of 32 random bytes. */
export function generateWebhookSecret(): string {
  return WEBHOOK_SECRET_PREFIX + randomBytes(32).toString('base64');
}

/** Decodes the key of a "whsec_<base64>" secret; throws a clear Error when the secret is malformed. */
function secretKey(secret: string): Buffer {
  if (typeof secret !== 'string' || !secret.startsWith(WEBHOOK_SECRET_PREFIX)) {
    throw new Error('Malformed webhook secret: expected "whsec_" followed by base64');
  }
  const encoded = secret.slice(WEBHOOK_SECRET_PREFIX.length);
  if (encoded.length === 0 || !BASE64_RE.test(encoded)) {
    throw new Error('Malformed webhook secret: the part after "whsec_" is not valid base64');
  }
  const key = Buffer.from(encoded, 'base64');
  if (key.length === 0) {
    throw new Error('Malformed webhook secret: the key is empty');
  }
  return key;
}

function rawSignature(key: Buffer, id: string, timestamp: string, body: string): string {
  return createHmac('sha256', key).update(`${id}.${timestamp}.${body}`, 'utf8').digest('base64');
}

/** "v1,<base64 HMAC-SHA256(key, `${id}.${timestampSeconds}.${body}`)>". */
export function signWebhook(secret: string, id: string, timestampSeconds: number, body: string): string {
  if (!Number.isSafeInteger(timestampSeconds) || timestampSeconds < 0) {
    throw new Error('Webhook timestamp must be a non-negative integer number of seconds');
  }
  return `v1,${rawSignature(secretKey(secret), id, String(timestampSeconds), body)}`;
}

/**
 * Checks a received callback. Headers missing → 'missing_headers'; a timestamp that is not an
 * integer or lies more than `toleranceSeconds` before or after `nowSeconds` → 'stale_timestamp';
 * no "v1," entry matching the expected signature → 'bad_signature'. A malformed secret is a
 * configuration error and throws.
 */
export function verifyWebhook(
  secret: string,
  headers: WebhookHeaderValues,
  body: string,
  nowSeconds: number,
  toleranceSeconds: number = DEFAULT_WEBHOOK_TOLERANCE_SECONDS,
): WebhookVerification {
  const key = secretKey(secret);
  const id = headers.id;
  const timestamp = headers.timestamp?.trim();
  const signature = headers.signature;
  if (!id || !timestamp || !signature) return { ok: false, reason: 'missing_headers' };

  if (!TIMESTAMP_RE.test(timestamp)) return { ok: false, reason: 'stale_timestamp' };
  const sentAt = Number(timestamp);
  if (Math.abs(nowSeconds - sentAt) > toleranceSeconds) return { ok: false, reason: 'stale_timestamp' };

  const expected = Buffer.from(rawSignature(key, id, timestamp, body), 'utf8');
  const entries = signature.split(' ');
  let matched = false;
  const limit = Math.min(entries.length, MAX_SIGNATURE_ENTRIES);
  for (let i = 0; i < limit; i += 1) {
    const entry = entries[i] ?? '';
    const comma = entry.indexOf(',');
    if (comma < 0 || entry.slice(0, comma) !== 'v1') continue;
    const candidate = Buffer.from(entry.slice(comma + 1), 'utf8');
    // Lengths are public (a base64 SHA-256 digest is always 44 characters); the bytes are compared in constant time.
    if (candidate.length === expected.length && timingSafeEqual(candidate, expected)) matched = true;
  }
  return matched ? { ok: true } : { ok: false, reason: 'bad_signature' };
}

/** The headers a sender attaches to one delivery attempt. */
export function webhookHeaders(secret: string, messageId: string, body: string, nowSeconds: number): WebhookHeaders {
  const timestamp = Math.floor(nowSeconds);
  return {
    'webhook-id': messageId,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signWebhook(secret, messageId, timestamp, body),
    'content-type': 'application/json',
  };
}
