// The Handoff Trigger's verifier (nodes/shared/webhook-verify.ts) accepts exactly what the
// service's signer (service/src/domain/webhook-signature.ts) produces, and nothing else.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { generateWebhookSecret, signWebhook, webhookHeaders } from '../../service/src/domain/webhook-signature.ts';
import { headerValue, verifyWebhookSignature, WEBHOOK_TOLERANCE_SECONDS } from '../../nodes/shared/webhook-verify.ts';

const NOW = 1_790_000_000;
const body = JSON.stringify({ type: 'handoff.created', timestamp: '2026-09-21T00:00:00.000Z', data: { handoff: { handoff_id: 'h1', task_id: 'ü ✓' } } });

function signed(secret: string, payload = body, at = NOW, id = 'msg_1') {
  const headers = webhookHeaders(secret, id, payload, at);
  return { id: headers['webhook-id'], timestamp: headers['webhook-timestamp'], signature: headers['webhook-signature'] };
}

describe('webhook signature: service signer and node verifier agree', () => {
  it('accepts what the service signs, as text and as raw bytes', () => {
    const secret = generateWebhookSecret();
    assert.deepEqual(verifyWebhookSignature(secret, signed(secret), body, NOW), { valid: true });
    assert.deepEqual(verifyWebhookSignature(secret, signed(secret), Buffer.from(body, 'utf8'), NOW), { valid: true });
  });

  it('accepts any id, timestamp within tolerance and body (property)', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 40 }).filter((s) => !/\s/.test(s)),
        fc.string({ maxLength: 200 }),
        fc.integer({ min: -WEBHOOK_TOLERANCE_SECONDS, max: WEBHOOK_TOLERANCE_SECONDS }),
        (id, payload, skew) => {
          const secret = generateWebhookSecret();
          const headers = signed(secret, payload, NOW + skew, id);
          return verifyWebhookSignature(secret, headers, Buffer.from(payload, 'utf8'), NOW).valid;
        },
      ),
      { numRuns: 200 },
    );
  });

  it('refuses a wrong secret', () => {
    const secret = generateWebhookSecret();
    assert.deepEqual(verifyWebhookSignature(generateWebhookSecret(), signed(secret), body, NOW), { valid: false, reason: 'bad_signature' });
  });

  it('refuses a tampered body, id or timestamp', () => {
    const secret = generateWebhookSecret();
    const headers = signed(secret);
    assert.equal(verifyWebhookSignature(secret, headers, body.replace('h1', 'h2'), NOW).valid, false);
    assert.equal(verifyWebhookSignature(secret, headers, `${body} `, NOW).valid, false);
    assert.equal(verifyWebhookSignature(secret, { ...headers, id: 'msg_2' }, body, NOW).valid, false);
    assert.deepEqual(verifyWebhookSignature(secret, { ...headers, timestamp: String(NOW + 1) }, body, NOW), {
      valid: false,
      reason: 'bad_signature',
    });
    // a JSON re-serialisation of the parsed body differs from what was signed when the sender's bytes differ
    const spaced = JSON.stringify(JSON.parse(body), null, 1);
    assert.equal(verifyWebhookSignature(secret, signed(secret, spaced), JSON.stringify(JSON.parse(spaced)), NOW).valid, false);
  });

  it('refuses stale and future timestamps beyond five minutes, even correctly signed', () => {
    const secret = generateWebhookSecret();
    for (const skew of [-WEBHOOK_TOLERANCE_SECONDS - 1, WEBHOOK_TOLERANCE_SECONDS + 1, -86_400]) {
      assert.deepEqual(verifyWebhookSignature(secret, signed(secret, body, NOW + skew), body, NOW), { valid: false, reason: 'stale_timestamp' });
    }
    assert.deepEqual(verifyWebhookSignature(secret, { ...signed(secret), timestamp: 'soon' }, body, NOW), { valid: false, reason: 'stale_timestamp' });
  });

  it('refuses missing headers and malformed signatures; finds a valid entry among several (key rotation)', () => {
    const secret = generateWebhookSecret();
    const headers = signed(secret);
    for (const missing of ['id', 'timestamp', 'signature'] as const) {
      assert.deepEqual(verifyWebhookSignature(secret, { ...headers, [missing]: '' }, body, NOW), { valid: false, reason: 'missing_headers' });
    }
    for (const signature of ['v1', 'v1,', 'v2,' + headers.signature.slice(3), 'v1,not base64!', 'v1,' + Buffer.alloc(31).toString('base64')]) {
      assert.deepEqual(verifyWebhookSignature(secret, { ...headers, signature }, body, NOW), { valid: false, reason: 'bad_signature' });
    }
    const other = signWebhook(generateWebhookSecret(), headers.id, NOW, body);
    assert.deepEqual(verifyWebhookSignature(secret, { ...headers, signature: `${other} ${headers.signature}` }, body, NOW), { valid: true });
  });

  it('treats a malformed secret as a refusal, not a crash', () => {
    const headers = signed(generateWebhookSecret());
    for (const secret of ['', 'whsec_', 'sk_abc', 'whsec_***']) {
      assert.deepEqual(verifyWebhookSignature(secret, headers, body, NOW), { valid: false, reason: 'bad_secret' });
    }
  });

  it('reads header values as n8n hands them over', () => {
    assert.equal(headerValue('a'), 'a');
    assert.equal(headerValue(['b', 'c']), 'b');
    assert.equal(headerValue(undefined), '');
  });
});
