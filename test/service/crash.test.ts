// Durability under a crash and an orderly stop, with the service as a child process on a
// SQLite file: kill -9 in the middle of a concurrent write load, restart on the same file,
// and check that every acknowledged write is there and that replaying creates with their
// Idempotency-Keys makes no duplicates. Then SIGTERM with requests in flight.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { TOKENS, call, freePort, tokenFor, handoffBody, spawnService, tempDir, type ChildService, type Reply } from './harness.ts';

const WRITERS = 4;
const LOAD_MS = 1500;
const MAX_PER_WRITER = 5000;
const REQUEST_TIMEOUT_MS = 5000;

type Who = 'admin' | keyof typeof TOKENS;
const bearer = (who: Who) => `Bearer ${tokenFor(who)}`;

const send = (base: string, method: string, path: string, who: Who, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> =>
  call(base, method, path, { as: who, body, headers, timeoutMs: REQUEST_TIMEOUT_MS });

const STATUS_AT_VERSION: Record<number, string> = { 1: 'pending', 2: 'in_progress', 3: 'completed' };

interface LogicalCreate {
  key: string;
  body: Record<string, unknown>;
  /** Set when the create's 201 was received. */
  handoffId: string | null;
  /** Highest version whose 2xx answer the client received (0: none). */
  ackVersion: number;
}

async function allHandoffs(base: string): Promise<any[]> {
  const items: any[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 200; page++) {
    const reply = await send(base, 'GET', `/v1/handoffs?limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, 'admin');
    assert.equal(reply.status, 200);
    items.push(...reply.body.items);
    cursor = reply.body.next_cursor;
    if (!cursor) return items;
  }
  throw new Error('too many pages');
}

/** Runs `fn` over `items`, `width` at a time. */
async function inParallel<T>(items: T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

test('kill -9 mid-load: acknowledged writes survive, replayed creates make no duplicates', async () => {
  const dir = tempDir('cortex-crash-');
  const env = { CORTEX_DATABASE: join(dir.path, 'cortex.sqlite'), CORTEX_LOG_LEVEL: 'warn' };
  let child: ChildService | null = await spawnService(env, await freePort());
  let restarted: ChildService | null = null;
  try {
    const base = child.url;
    const creates = new Map<string, LogicalCreate>();
    const unexpected: string[] = [];
    let failedRequests = 0;
    let killed = false;

    const writer = async (w: number) => {
      for (let i = 0; i < MAX_PER_WRITER && !killed; i++) {
        const key = `crash-${w}-${i}`;
        const logical: LogicalCreate = {
          key,
          body: handoffBody({ task_id: key, data: { marker: key, writer: w, i } }),
          handoffId: null,
          ackVersion: 0,
        };
        creates.set(key, logical);
        try {
          const created = await send(base, 'POST', '/v1/handoffs', 'infrastructure-contractor', logical.body, { 'Idempotency-Key': key });
          if (created.status !== 201) {
            unexpected.push(`create ${key}: ${created.status}`);
            continue;
          }
          logical.handoffId = created.body.handoff_id;
          logical.ackVersion = created.body.version;
          if (i % 3 === 2) continue;
          const claimed = await send(base, 'POST', `/v1/handoffs/${logical.handoffId}/claim`, 'talos-contractor');
          if (claimed.status !== 200) {
            unexpected.push(`claim ${key}: ${claimed.status}`);
            continue;
          }
          logical.ackVersion = claimed.body.version;
          if (i % 3 === 1) continue;
          const done = await send(base, 'POST', `/v1/handoffs/${logical.handoffId}/complete`, 'talos-contractor', { result: { i } });
          if (done.status !== 200) {
            unexpected.push(`complete ${key}: ${done.status}`);
            continue;
          }
          logical.ackVersion = done.body.version;
        } catch {
          // The connection broke (the kill): this request is in flight as far as we know.
          failedRequests++;
          if (!killed) unexpected.push(`request of ${key} failed before the kill`);
          return;
        }
      }
    };

    const load = Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)));
    await new Promise((resolve) => setTimeout(resolve, LOAD_MS));
    killed = true;
    child.child.kill('SIGKILL');
    assert.equal(await child.exited, 'SIGKILL');
    child = null;
    await load;

    const acked = [...creates.values()].filter((c) => c.handoffId !== null);
    assert.deepEqual(unexpected, []);
    assert.ok(acked.length >= 20, `the load made progress before the kill (${acked.length} acknowledged creates)`);
    assert.ok(failedRequests >= 1, 'the kill interrupted requests in flight');

    restarted = await spawnService(env, await freePort());
    const again = restarted.url;

    // 1. Every acknowledged create is there, at least at the acknowledged version.
    await inParallel(acked, 8, async (c) => {
      const reply = await send(again, 'GET', `/v1/handoffs/${c.handoffId}`, 'admin');
      assert.equal(reply.status, 200, `acknowledged handoff ${c.handoffId} (${c.key}) is missing`);
      assert.equal(reply.body.task_id, c.key);
      assert.deepEqual(reply.body.data, c.body.data);
      assert.ok(reply.body.version >= c.ackVersion, `${c.key}: version ${reply.body.version} < acknowledged ${c.ackVersion}`);
      assert.equal(reply.body.status, STATUS_AT_VERSION[reply.body.version]);
    });

    // 2. Replaying every create (acknowledged or in flight) with its key: one handoff per logical create.
    let committedUnacked = 0;
    const all = [...creates.values()];
    const replayedIds = new Map<string, string>();
    await inParallel(all, 8, async (c) => {
      const reply = await send(again, 'POST', '/v1/handoffs', 'infrastructure-contractor', c.body, { 'Idempotency-Key': c.key });
      assert.equal(reply.status, 201, `replay of ${c.key}: ${reply.status} ${JSON.stringify(reply.body)}`);
      assert.equal(reply.body.task_id, c.key);
      if (c.handoffId !== null) {
        assert.equal(reply.body.handoff_id, c.handoffId, `replay of acknowledged ${c.key} names another handoff`);
        assert.equal(reply.headers.get('idempotent-replayed'), 'true');
        // The replay answers with the original create's answer.
        assert.equal(reply.body.version, 1);
      } else if (reply.headers.get('idempotent-replayed') === 'true') {
        committedUnacked++;
      }
      replayedIds.set(c.key, reply.body.handoff_id);
    });
    // A second replay after the first (new records included) names the same handoff.
    await inParallel(all.filter((c) => c.handoffId === null), 4, async (c) => {
      const reply = await send(again, 'POST', '/v1/handoffs', 'infrastructure-contractor', c.body, { 'Idempotency-Key': c.key });
      assert.equal(reply.status, 201);
      assert.equal(reply.headers.get('idempotent-replayed'), 'true');
      assert.equal(reply.body.handoff_id, replayedIds.get(c.key));
    });

    // 3. The list holds exactly one handoff per logical create, and nothing else.
    const items = await allHandoffs(again);
    const byTask = new Map<string, number>();
    for (const item of items) byTask.set(item.task_id, (byTask.get(item.task_id) ?? 0) + 1);
    const duplicated = [...byTask].filter(([, n]) => n !== 1);
    assert.deepEqual(duplicated, [], 'no logical create has two handoffs');
    assert.deepEqual([...byTask.keys()].sort(), [...creates.keys()].sort());
    assert.equal(items.length, creates.size);
    for (const item of items) assert.equal(item.handoff_id, replayedIds.get(item.task_id));
    if (process.env.CRASH_DEBUG) console.log({ creates: creates.size, acked: acked.length, failedRequests, committedUnacked });
    assert.ok(committedUnacked <= WRITERS, `at most one create per writer was in flight (${committedUnacked})`);

    restarted.child.kill('SIGTERM');
    assert.equal(await restarted.exited, 0);
    restarted = null;
    const db = new Database(env.CORTEX_DATABASE, { readonly: true });
    try {
      assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
    } finally {
      db.close();
    }
  } finally {
    child?.child.kill('SIGKILL');
    restarted?.child.kill('SIGKILL');
    if (child) await child.exited;
    if (restarted) await restarted.exited;
    dir.remove();
  }
});

interface HeldRequest {
  /** Sends the rest of the body; resolves with the answer. */
  finish(): Promise<{ status: number; body: any }>;
}

/** A POST whose headers and first half of the body are sent now, the rest on finish(). */
async function holdRequest(port: number, path: string, who: Who, body: unknown, headers: Record<string, string> = {}): Promise<HeldRequest> {
  const text = Buffer.from(JSON.stringify(body), 'utf8');
  const half = Math.floor(text.length / 2);
  let settle: (value: { status: number; body: any }) => void = () => {};
  let fail: (error: Error) => void = () => {};
  const answer = new Promise<{ status: number; body: any }>((resolve, reject) => {
    settle = resolve;
    fail = reject;
  });
  const req = httpRequest({
    host: '127.0.0.1',
    port,
    method: 'POST',
    path,
    agent: false,
    timeout: 15_000,
    headers: { authorization: bearer(who), 'content-type': 'application/json', 'content-length': String(text.length), ...headers },
  });
  req.on('timeout', () => req.destroy(new Error('held request timed out')));
  req.on('error', fail);
  req.on('response', (res: IncomingMessage) => {
    const chunks: Buffer[] = [];
    res.on('data', (chunk: Buffer) => chunks.push(chunk));
    res.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      settle({ status: res.statusCode ?? 0, body: raw ? JSON.parse(raw) : undefined });
    });
    res.on('error', fail);
  });
  await new Promise<void>((resolve, reject) => {
    req.once('socket', (socket) => socket.once('connect', () => resolve()));
    req.once('error', reject);
  });
  req.write(text.subarray(0, half));
  req.flushHeaders();
  return {
    finish: () => {
      req.end(text.subarray(half));
      return answer;
    },
  };
}

test('SIGTERM with requests in flight: they complete with 2xx, the process exits 0, the data is kept', async () => {
  const dir = tempDir('cortex-term-');
  const env = { CORTEX_DATABASE: join(dir.path, 'cortex.sqlite'), CORTEX_SHUTDOWN_GRACE_MS: '10000' };
  const port = await freePort();
  let child: ChildService | null = await spawnService(env, port);
  let restarted: ChildService | null = null;
  try {
    // Something to transition while stopping.
    const pending = await send(child.url, 'POST', '/v1/handoffs', 'infrastructure-contractor', handoffBody({ task_id: 'term-claim' }));
    assert.equal(pending.status, 201);

    const held: { key: string; request: HeldRequest }[] = [];
    for (let i = 0; i < 6; i++) {
      const key = `term-${i}`;
      held.push({
        key,
        request: await holdRequest(port, '/v1/handoffs', 'infrastructure-contractor', handoffBody({ task_id: key, data: { marker: key } }), {
          'Idempotency-Key': key,
        }),
      });
    }
    const claim = await holdRequest(port, `/v1/handoffs/${pending.body.handoff_id}/claim`, 'talos-contractor', {});
    // Let the service read the headers of every held request.
    await new Promise((resolve) => setTimeout(resolve, 200));

    const stopAsked = Date.now();
    child.child.kill('SIGTERM');
    // While it stops, the service takes no new work.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const late = await fetch(`${child.url}/readyz`, { signal: AbortSignal.timeout(2000) }).then(
      (response) => response.status,
      () => 'refused',
    );
    assert.ok(late === 'refused' || late === 503, `a new request while stopping got ${late}`);
    assert.equal(child.child.exitCode, null, 'the process waits for the requests in flight');

    const answers = await Promise.all(held.map((h) => h.request.finish()));
    const claimed = await claim.finish();
    for (const [index, answer] of answers.entries()) {
      assert.equal(answer.status, 201, JSON.stringify(answer.body));
      assert.equal(answer.body.task_id, held[index]!.key);
    }
    assert.equal(claimed.status, 200, JSON.stringify(claimed.body));
    assert.equal(claimed.body.status, 'in_progress');

    assert.equal(await child.exited, 0);
    if (process.env.CRASH_DEBUG) console.log({ stopMs: Date.now() - stopAsked });
    assert.ok(Date.now() - stopAsked < 8000, 'it stopped once the requests were answered, before the grace period ran out');
    assert.match(child.output(), /"msg":"stopped"/);
    child = null;

    restarted = await spawnService(env, await freePort());
    for (const [index, answer] of answers.entries()) {
      const reply = await send(restarted.url, 'GET', `/v1/handoffs/${answer.body.handoff_id}`, 'admin');
      assert.equal(reply.status, 200);
      assert.equal(reply.body.task_id, held[index]!.key);
      assert.deepEqual(reply.body.data, { marker: held[index]!.key });
    }
    const after = await send(restarted.url, 'GET', `/v1/handoffs/${pending.body.handoff_id}`, 'admin');
    assert.equal(after.body.status, 'in_progress');
    assert.equal(after.body.version, 2);
    const items = await allHandoffs(restarted.url);
    assert.equal(items.length, held.length + 1);
    restarted.child.kill('SIGTERM');
    assert.equal(await restarted.exited, 0);
    restarted = null;
  } finally {
    child?.child.kill('SIGKILL');
    restarted?.child.kill('SIGKILL');
    if (child) await child.exited;
    if (restarted) await restarted.exited;
    dir.remove();
  }
});
