// Verifies Standard Webhooks signatures (https://www.standardwebhooks.com/) on callbacks the
// Cortex service sends to n8n: `webhook-signature` holds one or more space-separated
// "v1,<base64 HMAC-SHA256(key, `${webhook-id}.${webhook-timestamp}.${body}`)>" entries, the key
// being the base64 part of the subscription's "whsec_<base64>" secret.
//
// node:crypto only: nodes must not import the service's code (it is not part of the package).

import { createHmac, timingSafeEqual } from 'node:crypto';

/** How far (seconds) a webhook-timestamp may lie before or after the receiver's clock. */
export const WEBHOOK_TOLERANCE_SECONDS = 300;

const SECRET_PREFIX = 'whsec_';
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const TIMESTAMP = /^\d{1,15}$/;
/** Entries looked at in one header: bounds the work an attacker can cause per request. */
const MAX_ENTRIES = 16;
/** Length in bytes of an HMAC-SHA256 digest. */
const DIGEST_BYTES = 32;

export interface SignedHeaders {
  id?: string;
  timestamp?: string;
  signature?: string;
}

export type SignatureFailure = 'missing_headers' | 'stale_timestamp' | 'bad_signature' | 'bad_secret';

export type SignatureCheck = { valid: true } | { valid: false; reason: SignatureFailure };

/** The HMAC key of a "whsec_<base64>" secret, or undefined when the secret is malformed. */
function keyOf(secret: string): Buffer | undefined {
  if (!secret.startsWith(SECRET_PREFIX)) return undefined;
  const encoded = secret.slice(SECRET_PREFIX.length);
  if (!BASE64.test(encoded)) return undefined;
  const key = Buffer.from(encoded, 'base64');
  return key.length > 0 ? key : undefined;
}

/** A header value as one string ('' when absent; the first value when repeated). */
export function headerValue(value: unknown): string {
  if (Array.isArray(value)) return headerValue(value[0]);
  return typeof value === 'string' ? value : '';
}

/**
 * Checks one delivery. `body` must be the exact bytes received (a Buffer) or their UTF-8 text:
 * the signature covers the raw body, so a re-serialised JSON body may not match.
 * The comparison is constant-time; a timestamp more than `toleranceSeconds` away from
 * `nowSeconds` is refused whatever the signature.
 */
export function verifyWebhookSignature(
  secret: string,
  headers: SignedHeaders,
  body: Buffer | string,
  nowSeconds: number,
  toleranceSeconds: number = WEBHOOK_TOLERANCE_SECONDS,
): SignatureCheck {
  const key = typeof secret === 'string' ? keyOf(secret) : undefined;
  if (!key) return { valid: false, reason: 'bad_secret' };
  const id = headers.id ?? '';
  const timestamp = (headers.timestamp ?? '').trim();
  const signature = headers.signature ?? '';
  if (!id || !timestamp || !signature) return { valid: false, reason: 'missing_headers' };
  if (!TIMESTAMP.test(timestamp) || Math.abs(nowSeconds - Number(timestamp)) > toleranceSeconds) {
    return { valid: false, reason: 'stale_timestamp' };
  }

  const expected = createHmac('sha256', key)
    .update(`${id}.${timestamp}.`, 'utf8')
    .update(typeof body === 'string' ? Buffer.from(body, 'utf8') : body)
    .digest();
  let matched = false;
  const entries = signature.split(' ').slice(0, MAX_ENTRIES);
  for (const entry of entries) {
    const comma = entry.indexOf(',');
    if (comma < 0 || entry.slice(0, comma) !== 'v1') continue;
    const encoded = entry.slice(comma + 1);
    if (!BASE64.test(encoded)) continue;
    const candidate = Buffer.from(encoded, 'base64');
    // The length of a digest is public; its bytes are compared in constant time. Every entry is
    // looked at, so the time taken does not tell which one matched.
    if (candidate.length === DIGEST_BYTES && timingSafeEqual(candidate, expected)) matched = true;
  }
  return matched ? { valid: true } : { valid: false, reason: 'bad_signature' };
}
