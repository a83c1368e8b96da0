import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

import {
  generateWebhookSecret,
  signWebhook,
  verifyWebhook,
  webhookHeaders,
} from '../../service/src/domain/webhook-signature.ts';
import {
  deliverMessage,
  nextAttemptDelayMs,
  retryDelayMs,
  MAX_DELIVERY_ATTEMPTS,
} from '../../service/src/loops/deliver.ts';
import type { DeliveryResult } from '../../service/src/loops/deliver.ts';
import type { OutboxMessage } from '../../service/src/domain/types.ts';

const NOW = 1_700_000_000;

function headerValues(h: Record<string, string>) {
  return { id: h['webhook-id'], timestamp: h['webhook-timestamp'], signature: h['webhook-signature'] };
}

describe('webhook signatures', () => {
  it('generates whsec_ secrets holding 32 random bytes', () => {
    const a = generateWebhookSecret();
    const b = generateWebhookSecret();
    assert.match(a, /^whsec_[A-Za-z0-9+/]+=*$/);
    assert.equal(Buffer.from(a.slice('whsec_'.length), 'base64').length, 32);
    assert.notEqual(a, b);
  });

  it('round-trips sign and verify', () => {
    const secret = generateWebhookSecret();
    const body = JSON.stringify({ type: 'handoff.created', data: { handoff_id: 'h1' } });
    const headers = webhookHeaders(secret, 'msg_1', body, NOW);
    assert.equal(headers['content-type'], 'application/json');
    assert.equal(headers['webhook-id'], 'msg_1');
    assert.equal(headers['webhook-timestamp'], String(NOW));
    assert.match(headers['webhook-signature'], /^v1,[A-Za-z0-9+/]{43}=$/);
    assert.deepEqual(verifyWebhook(secret, headerValues(headers), body, NOW), { ok: true });
  });

  it('matches a vector computed independently with node:crypto', () => {
    const key = Buffer.alloc(32);
    for (let i = 0; i < 32; i += 1) key[i] = i * 7 + 3;
    const secret = `whsec_${key.toString('base64')}`;
    const id = 'msg_2Kb7';
    const ts = 1_712_345_678;
    const body = '{"event":"run.completed","n":1}';
    const expected = 'v1,' + createHmac('sha256', key).update(`${id}.${ts}.${body}`).digest('base64');
    assert.equal(signWebhook(secret, id, ts, body), expected);
  });

  it('matches the published Standard Webhooks example', () => {
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const body = '{"test": 2432232314}';
    const sig = signWebhook(secret, 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, body);
    assert.equal(sig, 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
    const check = createHmac('sha256', Buffer.from('MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'base64'))
      .update(`msg_p5jXN8AQM9LWM0D4loKWxJek.1614265330.${body}`)
      .digest('base64');
    assert.equal(sig, `v1,${check}`);
  });

  it('rejects a tampered body and a wrong secret', () => {
    const secret = generateWebhookSecret();
    const body = '{"a":1}';
    const h = headerValues(webhookHeaders(secret, 'msg_2', body, NOW));
    assert.deepEqual(verifyWebhook(secret, h, '{"a":2}', NOW), { ok: false, reason: 'bad_signature' });
    assert.deepEqual(verifyWebhook(secret, h, '{"a":1} ', NOW), { ok: false, reason: 'bad_signature' });
    assert.deepEqual(verifyWebhook(generateWebhookSecret(), h, body, NOW), { ok: false, reason: 'bad_signature' });
    // The id and the timestamp are covered by the signature too.
    assert.deepEqual(verifyWebhook(secret, { ...h, id: 'msg_3' }, body, NOW), { ok: false, reason: 'bad_signature' });
    assert.deepEqual(verifyWebhook(secret, { ...h, timestamp: String(NOW + 1) }, body, NOW), {
      ok: false,
      reason: 'bad_signature',
    });
    assert.deepEqual(verifyWebhook(secret, { ...h, signature: 'v1,short' }, body, NOW), {
      ok: false,
      reason: 'bad_signature',
    });
    assert.deepEqual(verifyWebhook(secret, { ...h, signature: (h.signature ?? '').replace('v1,', 'v2,') }, body, NOW), {
      ok: false,
      reason: 'bad_signature',
    });
  });

  it('rejects stale and future timestamps outside the tolerance', () => {
    const secret = generateWebhookSecret();
    const body = '{}';
    const h = headerValues(webhookHeaders(secret, 'msg_4', body, NOW));
    assert.deepEqual(verifyWebhook(secret, h, body, NOW + 300), { ok: true });
    assert.deepEqual(verifyWebhook(secret, h, body, NOW - 300), { ok: true });
    assert.deepEqual(verifyWebhook(secret, h, body, NOW + 301), { ok: false, reason: 'stale_timestamp' });
    assert.deepEqual(verifyWebhook(secret, h, body, NOW - 301), { ok: false, reason: 'stale_timestamp' });
    assert.deepEqual(verifyWebhook(secret, h, body, NOW + 31, 30), { ok: false, reason: 'stale_timestamp' });
    assert.deepEqual(verifyWebhook(secret, { ...h, timestamp: 'yesterday' }, body, NOW), {
      ok: false,
      reason: 'stale_timestamp',
    });
  });

  it('accepts a header with several signatures when one is valid (key rotation)', () => {
    const oldSecret = generateWebhookSecret();
    const newSecret = generateWebhookSecret();
    const body = '{"rotated":true}';
    const oldSig = signWebhook(oldSecret, 'msg_5', NOW, body);
    const newSig = signWebhook(newSecret, 'msg_5', NOW, body);
    const bogus = 'v1,' + randomBytes(32).toString('base64');
    const signature = `${bogus} v2,ignored ${oldSig} ${newSig}`;
    const h = { id: 'msg_5', timestamp: String(NOW), signature };
    assert.deepEqual(verifyWebhook(oldSecret, h, body, NOW), { ok: true });
    assert.deepEqual(verifyWebhook(newSecret, h, body, NOW), { ok: true });
    assert.deepEqual(verifyWebhook(generateWebhookSecret(), h, body, NOW), { ok: false, reason: 'bad_signature' });
  });

  it('reports missing headers', () => {
    const secret = generateWebhookSecret();
    const h = headerValues(webhookHeaders(secret, 'msg_6', '{}', NOW));
    assert.deepEqual(verifyWebhook(secret, {}, '{}', NOW), { ok: false, reason: 'missing_headers' });
    assert.deepEqual(verifyWebhook(secret, { ...h, id: undefined }, '{}', NOW), { ok: false, reason: 'missing_headers' });
    assert.deepEqual(verifyWebhook(secret, { ...h, timestamp: '' }, '{}', NOW), { ok: false, reason: 'missing_headers' });
    assert.deepEqual(verifyWebhook(secret, { ...h, signature: undefined }, '{}', NOW), {
      ok: false,
      reason: 'missing_headers',
    });
  });

  it('throws a clear error for a malformed secret', () => {
    assert.throws(() => signWebhook('not-a-secret', 'm', NOW, '{}'), /Malformed webhook secret/);
    assert.throws(() => signWebhook('whsec_', 'm', NOW, '{}'), /Malformed webhook secret/);
    assert.throws(() => signWebhook('whsec_!!!notbase64', 'm', NOW, '{}'), /Malformed webhook secret/);
    assert.throws(() => signWebhook(generateWebhookSecret(), 'm', 1.5, '{}'), /timestamp/);
  });
});

// ---------------------------------------------------------------- delivery against loopback servers

interface Received {
  headers: IncomingMessage['headers'];
  body: string;
}

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

interface TestServer {
  url: string;
  received: Received[];
  close(): Promise<void>;
}

async function startServer(handler: Handler): Promise<TestServer> {
  const received: Received[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      received.push({ headers: req.headers, body });
      handler(req, res, body);
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

function outboxMessage(url: string, secret: string, body = ' {"type":"handoff.created","n":42}\n'): OutboxMessage {
  return {
    message_id: 'msg_' + randomBytes(6).toString('hex'),
    subscription_id: 'sub_1',
    url,
    secret,
    event_type: 'handoff.created',
    body,
    attempts: 0,
    next_attempt_at: 0,
    created_at: 0,
  };
}

function firstHeader(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

describe('deliverMessage', () => {
  const servers: TestServer[] = [];
  const secret = generateWebhookSecret();

  after(async () => {
    for (const s of servers) await s.close();
  });

  async function server(handler: Handler): Promise<TestServer> {
    const s = await startServer(handler);
    servers.push(s);
    return s;
  }

  it('200 → delivered, and the receiver verifies the signed headers', async () => {
    const verdicts: unknown[] = [];
    const s = await server((req, res, body) => {
      verdicts.push(
        verifyWebhook(
          secret,
          {
            id: firstHeader(req.headers['webhook-id']),
            timestamp: firstHeader(req.headers['webhook-timestamp']),
            signature: firstHeader(req.headers['webhook-signature']),
          },
          body,
          Math.floor(Date.now() / 1000),
        ),
      );
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
    const msg = outboxMessage(s.url, secret);
    const result = await deliverMessage(msg, { timeoutMs: 2000, nowSeconds: Math.floor(Date.now() / 1000) });
    assert.deepEqual(result, { outcome: 'delivered', status: 200, error: null, retryAfterMs: null });
    assert.equal(s.received.length, 1);
    const got = s.received[0]!;
    assert.equal(got.body, msg.body, 'body is sent byte for byte, not trimmed or re-encoded');
    assert.equal(got.headers['webhook-id'], msg.message_id);
    assert.equal(got.headers['content-type'], 'application/json');
    assert.deepEqual(verdicts, [{ ok: true }]);
  });

  it('500 → retry with a short error text that leaks neither secret nor body', async () => {
    const s = await server((_req, res, body) => res.writeHead(500).end(`echo ${body}`));
    const msg = outboxMessage(s.url, secret, JSON.stringify({ filler: 'x'.repeat(500) }));
    const result = await deliverMessage(msg, { timeoutMs: 2000, nowSeconds: NOW });
    assert.equal(result.outcome, 'retry');
    assert.equal(result.status, 500);
    assert.equal(result.retryAfterMs, null);
    assert.ok(result.error && result.error.includes('500'));
    assert.ok(result.error!.length <= 200);
    assert.ok(!result.error!.includes(secret));
    assert.ok(!result.error!.includes('xxxxxxxx'));
  });

  it('410 → gone', async () => {
    const s = await server((_req, res) => res.writeHead(410).end());
    const result = await deliverMessage(outboxMessage(s.url, secret), { timeoutMs: 2000, nowSeconds: NOW });
    assert.equal(result.outcome, 'gone');
    assert.equal(result.status, 410);
  });

  it('429 with Retry-After: 7 → retry after 7000 ms', async () => {
    const s = await server((_req, res) => res.writeHead(429, { 'retry-after': '7' }).end());
    const result = await deliverMessage(outboxMessage(s.url, secret), { timeoutMs: 2000, nowSeconds: NOW });
    assert.equal(result.outcome, 'retry');
    assert.equal(result.status, 429);
    assert.equal(result.retryAfterMs, 7000);
    assert.equal(retryDelayMs(1, result, () => 0.5), 7000);
  });

  it('503 with an HTTP-date Retry-After → retry after the difference from now', async () => {
    const now = 1_750_000_000;
    const at = new Date((now + 90) * 1000).toUTCString();
    const s = await server((_req, res) => res.writeHead(503, { 'retry-after': at }).end());
    const result = await deliverMessage(outboxMessage(s.url, secret), { timeoutMs: 2000, nowSeconds: now });
    assert.equal(result.outcome, 'retry');
    assert.equal(result.status, 503);
    assert.equal(result.retryAfterMs, 90_000);
  });

  it('a receiver that never answers → retry mentioning the timeout', async () => {
    const s = await server(() => {
      /* never respond */
    });
    const started = Date.now();
    const result = await deliverMessage(outboxMessage(s.url, secret), { timeoutMs: 200, nowSeconds: NOW });
    assert.ok(Date.now() - started < 2000, 'the timeout bounds the attempt');
    assert.equal(result.outcome, 'retry');
    assert.equal(result.status, null);
    assert.match(result.error ?? '', /timeout/i);
  });

  it('connection refused (a port just closed) → retry', async () => {
    const s = await startServer((_req, res) => res.end());
    await s.close();
    const result = await deliverMessage(outboxMessage(s.url, secret), { timeoutMs: 2000, nowSeconds: NOW });
    assert.equal(result.outcome, 'retry');
    assert.equal(result.status, null);
    assert.ok(result.error && result.error.length > 0 && result.error.length <= 200);
    assert.match(result.error!, /ECONNREFUSED|refused/i);
  });

  it('a 3xx is not followed', async () => {
    const target = await server((_req, res) => res.writeHead(200).end());
    const s = await server((_req, res) => res.writeHead(302, { location: target.url }).end());
    const result = await deliverMessage(outboxMessage(s.url, secret), { timeoutMs: 2000, nowSeconds: NOW });
    assert.equal(result.outcome, 'retry');
    assert.equal(result.status, 302);
    assert.equal(target.received.length, 0);
  });
});

// ---------------------------------------------------------------- backoff

describe('backoff', () => {
  const retry: DeliveryResult = { outcome: 'retry', status: 500, error: 'HTTP 500', retryAfterMs: null };

  it('grows exponentially with the attempt count', () => {
    const top = () => 0.999999;
    let previous = 0;
    for (let attempts = 1; attempts <= 10; attempts += 1) {
      const d = nextAttemptDelayMs(attempts, top);
      assert.ok(d > previous, `attempt ${attempts}: ${d} > ${previous}`);
      assert.ok(d <= 1000 * 2 ** (attempts - 1));
      previous = d;
    }
    assert.equal(nextAttemptDelayMs(1, () => 0.5), 500);
    assert.equal(nextAttemptDelayMs(4, () => 0.5), 4000);
  });

  it('is bounded by the cap', () => {
    for (let attempts = 1; attempts <= 200; attempts += 1) {
      assert.ok(nextAttemptDelayMs(attempts, () => 0.999999) <= 3_600_000);
    }
    assert.equal(nextAttemptDelayMs(40, () => 0.5), 1_800_000);
    assert.equal(nextAttemptDelayMs(10_000, () => 0.5, 1000, 60_000), 30_000);
    assert.ok(Number.isFinite(nextAttemptDelayMs(Number.MAX_SAFE_INTEGER, () => 0.999)));
  });

  it('is never below 100 ms', () => {
    assert.equal(nextAttemptDelayMs(1, () => 0), 100);
    assert.equal(nextAttemptDelayMs(0, () => 0.01), 100);
    assert.equal(nextAttemptDelayMs(-3, () => 0), 100);
    assert.equal(nextAttemptDelayMs(5, () => Number.NaN), 100);
  });

  it('uses the random function it is given (full jitter)', () => {
    const calls: number[] = [];
    const seq = [0.1, 0.9, 0.25];
    const rnd = () => {
      const v = seq[calls.length % seq.length]!;
      calls.push(v);
      return v;
    };
    assert.equal(nextAttemptDelayMs(5, rnd), Math.floor(0.1 * 16_000));
    assert.equal(nextAttemptDelayMs(5, rnd), Math.floor(0.9 * 16_000));
    assert.equal(nextAttemptDelayMs(5, rnd), Math.floor(0.25 * 16_000));
    assert.equal(calls.length, 3);
  });

  it('retryDelayMs honours a longer Retry-After and otherwise uses the backoff', () => {
    assert.equal(retryDelayMs(3, retry, () => 0.5), 2000);
    assert.equal(retryDelayMs(3, { ...retry, retryAfterMs: 60_000 }, () => 0.5), 60_000);
    assert.equal(retryDelayMs(3, { ...retry, retryAfterMs: 10 }, () => 0.5), 2000);
  });

  it('MAX_DELIVERY_ATTEMPTS is 12', () => {
    assert.equal(MAX_DELIVERY_ATTEMPTS, 12);
  });
});
