// Several replicas on one PostgreSQL schema (the "done when"): three service
// child processes share a schema of the machine's PostgreSQL and a loopback webhook
// receiver subscribed to handoff.timed_out. Shown, in order:
//   (b) 100 concurrent claims of one handoff spread over the replicas: exactly one 200;
//   (a) 10,000 handoffs with a 2 s claim deadline, created through the domain's
//       HandoffService on a PostgresStore in this process (not over HTTP: see the test):
//       each times out exactly once — one handoff.timed_out history event and one
//       distinct webhook-id at the receiver per handoff (repeats of that id would be
//       allowed: at least once);
//   (c) kill -9 of one replica mid-load while a client writes with Idempotency-Keys over
//       all replicas (retrying a key on the next replica when one fails): every
//       acknowledged create is there, none twice, and the timers the dead replica had
//       leased are fired by the others once its leases run out. The victim runs with a
//       longer timer lease (6 s) than the others (2 s), so a lease reaching further than
//       2 s ahead can only be the victim's: the test waits until it sees one, then kills.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type pg from 'pg';
import { HandoffService } from '../../service/src/domain/handoffs.ts';
import { silentObserver, systemClock, type Principal } from '../../service/src/domain/principal.ts';
import { TOKENS, call, freePort, spawnService, tempDir, type ChildService, type Reply } from './harness.ts';
import { TEST_DATABASE_URL, assertPostgresReachable, dropSchemas, freshSchemaName, openTestStore, schemaPool } from './pg.ts';

const TIMEOUT_HANDOFFS = 10_000;
const CREATE_CONCURRENCY = 32;
const SURVIVOR_LEASE_MS = 2000;
const VICTIM_LEASE_MS = 6000;
const REQUEST_TIMEOUT_MS = 10_000;

type Who = 'admin' | keyof typeof TOKENS;

const send = (base: string, method: string, path: string, who: Who, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> =>
  call(base, method, path, { as: who, body, headers, timeoutMs: REQUEST_TIMEOUT_MS });

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number, stepMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(stepMs);
  }
}

/** Runs `fn` over `items`, `width` at a time. */
async function inParallel<T>(items: T[], width: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) {
        const index = next++;
        await fn(items[index]!, index);
      }
    }),
  );
}

// ---------------------------------------------------------------- shared set-up

/** handoff_id → the distinct webhook-ids received for it, and how many deliveries in all. */
const received = new Map<string, Set<string>>();
let deliveries = 0;
let receiver: Server;
let receiverUrl = '';
const schema = freshSchemaName('replicas');
let pool: pg.Pool;
const replicas: ChildService[] = [];
let victim: ChildService;
const dir = tempDir('cortex-replicas-');

before(async () => {
  await assertPostgresReachable();
  await (await openTestStore({ schema })).close(); // the schema exists and is migrated before the replicas race
  pool = schemaPool(schema);
  receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      deliveries++;
      const id = String(req.headers['webhook-id'] ?? '');
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { data: { handoff: { handoff_id: string } } };
      const handoffId = body.data.handoff.handoff_id;
      let ids = received.get(handoffId);
      if (!ids) received.set(handoffId, (ids = new Set()));
      ids.add(id);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;

  const env = (leaseMs: number, n: number) => ({
    CORTEX_DATABASE_URL: TEST_DATABASE_URL,
    CORTEX_DATABASE_SCHEMA: schema,
    CORTEX_DATABASE: `${dir.path}/replica-${n}/unused.sqlite`,
    CORTEX_DATABASE_POOL_SIZE: '8',
    CORTEX_LOG_LEVEL: 'warn',
    CORTEX_SWEEP_INTERVAL_MS: '100',
    CORTEX_RELAY_INTERVAL_MS: '100',
    CORTEX_TIMER_LEASE_MS: String(leaseMs),
    CORTEX_TIMER_BATCH: '100',
    CORTEX_DELIVERY_TIMEOUT_MS: '2000',
    CORTEX_DELIVERY_BACKOFF_MS: '100',
  });
  // Started at once: they also race for the (already applied) migrations.
  const started = await Promise.all([
    spawnService(env(SURVIVOR_LEASE_MS, 0), await freePort()),
    spawnService(env(SURVIVOR_LEASE_MS, 1), await freePort()),
    spawnService(env(VICTIM_LEASE_MS, 2), await freePort()),
  ]);
  replicas.push(...started);
  victim = started[2]!;
  const subscription = await send(replicas[0]!.url, 'POST', '/v1/subscriptions', 'admin', {
    url: receiverUrl,
    events: ['handoff.timed_out'],
    description: 'replicas test receiver',
  });
  assert.equal(subscription.status, 201, JSON.stringify(subscription.body));
});

after(async () => {
  for (const replica of replicas) if (replica.child.exitCode === null && replica.child.signalCode === null) replica.child.kill('SIGTERM');
  await Promise.all(
    replicas.map((replica) => Promise.race([replica.exited, sleep(15_000).then(() => replica.child.kill('SIGKILL'))])),
  );
  await new Promise<void>((resolve) => (receiver ? receiver.close(() => resolve()) : resolve()));
  await pool?.end();
  await dropSchemas();
  dir.remove();
});

const createBody = (taskId: string, claimTimeout: number) => ({
  from_contractor: 'infrastructure-contractor',
  to_contractor: 'talos-contractor',
  task_id: taskId,
  data: { vm_ids: [101] },
  claim_timeout: claimTimeout,
});

/** handoff id → number of handoff.timed_out history rows, for the given ids. */
async function timedOutCounts(ids: string[]): Promise<Map<string, number>> {
  const { rows } = await pool.query<{ subject_id: string; n: number }>(
    `SELECT subject_id, count(*)::int AS n FROM history
     WHERE subject_kind = 'handoff' AND type = 'handoff.timed_out' AND subject_id = ANY($1) GROUP BY subject_id`,
    [ids],
  );
  return new Map(rows.map((row) => [row.subject_id, row.n]));
}

async function countWhere(sql: string, params: unknown[]): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(sql, params);
  return rows[0]!.n;
}

/** Every handoff timed out exactly once: one history event and one distinct webhook-id each. */
async function assertTimedOutOnce(ids: string[], label: string, timeoutMs: number): Promise<void> {
  await waitFor(
    `${label}: all ${ids.length} handoffs failed`,
    async () => (await countWhere(`SELECT count(*)::int AS n FROM handoffs WHERE id = ANY($1) AND status = 'failed'`, [ids])) === ids.length,
    timeoutMs,
    250,
  );
  await waitFor(`${label}: a callback for every handoff`, async () => ids.every((id) => received.has(id)), timeoutMs, 250);
  const counts = await timedOutCounts(ids);
  const wrong = ids.filter((id) => counts.get(id) !== 1);
  assert.deepEqual(wrong.slice(0, 5).map((id) => [id, counts.get(id) ?? 0]), [], `${label}: one handoff.timed_out event per handoff`);
  const twoIds = ids.filter((id) => received.get(id)!.size !== 1);
  assert.deepEqual(twoIds.slice(0, 5).map((id) => [id, [...received.get(id)!]]), [], `${label}: one webhook-id per handoff`);
  const messages = await countWhere(
    `SELECT count(*)::int AS n FROM outbox WHERE event_type = 'handoff.timed_out' AND body::jsonb #>> '{data,handoff,handoff_id}' = ANY($1)`,
    [ids],
  );
  assert.equal(messages, ids.length, `${label}: one outbox message per handoff`);
  assert.equal(await countWhere('SELECT count(*)::int AS n FROM timers WHERE subject_id = ANY($1)', [ids]), 0, `${label}: no timer left`);
}

// ---------------------------------------------------------------- (b)

test('(b) 100 concurrent claims of one handoff over three replicas: exactly one wins', async () => {
  const created = await send(replicas[0]!.url, 'POST', '/v1/handoffs', 'infrastructure-contractor', createBody('claim-race', 300));
  assert.equal(created.status, 201);
  const id = created.body.handoff_id as string;
  const answers = await Promise.all(
    Array.from({ length: 100 }, (_, i) => send(replicas[i % replicas.length]!.url, 'POST', `/v1/handoffs/${id}/claim`, 'talos-contractor', {})),
  );
  const statuses = new Map<number, number>();
  for (const answer of answers) statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
  assert.deepEqual([...statuses].sort(), [[200, 1], [409, 99]], JSON.stringify([...statuses]));
  const handoff = await send(replicas[1]!.url, 'GET', `/v1/handoffs/${id}`, 'admin');
  assert.equal(handoff.body.status, 'in_progress');
  assert.equal(handoff.body.version, 2);
  const claims = await countWhere(
    "SELECT count(*)::int AS n FROM history WHERE subject_id = $1 AND type = 'handoff.claimed'",
    [id],
  );
  assert.equal(claims, 1);
});

// ---------------------------------------------------------------- (a)

test(`(a) ${TIMEOUT_HANDOFFS} handoffs with a 2 s claim deadline each time out exactly once`, { timeout: 150_000 }, async () => {
  // Created in this process through the domain's HandoffService on a PostgresStore — the
  // create route's code and mutation without HTTP (which, on a small machine shared
  // with the replicas, would make creating them take longer than letting them fire).
  const store = await openTestStore({ schema, poolSize: 16 });
  const ids: string[] = [];
  const began = Date.now();
  try {
    const handoffs = new HandoffService(store, systemClock, silentObserver);
    const sender: Principal = { name: 'infrastructure-contractor', role: 'contractor' };
    await inParallel(
      Array.from({ length: TIMEOUT_HANDOFFS }, (_, i) => i),
      CREATE_CONCURRENCY,
      async () => {
        const outcome = await handoffs.create(sender, createBody('timeout-a', 2));
        ids.push(outcome.record.handoff_id);
      },
    );
  } finally {
    await store.close();
  }
  const createdIn = Date.now() - began;
  console.log(`(a) created ${ids.length} handoffs (HandoffService on PostgresStore) in ${createdIn} ms (${Math.round((ids.length / createdIn) * 1000)}/s)`);
  await assertTimedOutOnce(ids, '(a)', 90_000);
  const lateness = await pool.query<{ p50: number; p99: number; max: number }>(
    `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY late) AS p50, percentile_cont(0.99) WITHIN GROUP (ORDER BY late) AS p99, max(late) AS max
     FROM (SELECT h.at - (b.created_at + 2000) AS late FROM history h JOIN handoffs b ON b.id = h.subject_id
           WHERE h.type = 'handoff.timed_out' AND h.subject_id = ANY($1)) x`,
    [ids],
  );
  const l = lateness.rows[0]!;
  console.log(
    `(a) all timed out ${Date.now() - began} ms after the first create; lateness p50 ${Math.round(l.p50)} ms, p99 ${Math.round(l.p99)} ms, ` +
      `max ${l.max} ms; ${deliveries} deliveries received for ${received.size} handoffs`,
  );
});

// ---------------------------------------------------------------- (c)

test('(c) kill -9 of one replica mid-load: no acknowledged write lost, its leased timers fired by the others', { timeout: 120_000 }, async () => {
  const WRITERS = 12;
  const MAX_CREATES = 20_000;
  const acked = new Map<string, string>(); // idempotency key → handoff id
  let stop = false;
  let nextKey = 0;
  let failovers = 0;
  const runId = Date.now().toString(36);

  /** One logical create: the same key on replica after replica until one answers 201. */
  const create = async (key: string, first: number) => {
    for (let attempt = 0; attempt < 30; attempt++) {
      const replica = replicas[(first + attempt) % replicas.length]!;
      try {
        const reply = await send(replica.url, 'POST', '/v1/handoffs', 'infrastructure-contractor', createBody('kill-c', 0.5 + (Number(key.split('-').at(-1)) % 10) / 10), {
          'idempotency-key': key,
        });
        if (reply.status === 201) {
          if (acked.has(key)) assert.equal(acked.get(key), reply.body.handoff_id, 'a replayed key answers the same handoff');
          acked.set(key, reply.body.handoff_id as string);
          return;
        }
        assert.ok(reply.status >= 500, `unexpected ${reply.status}: ${JSON.stringify(reply.body)}`);
      } catch (error) {
        if (error instanceof assert.AssertionError) throw error;
        // connection refused or reset: that replica is gone; try the next one
      }
      failovers++;
      await sleep(20);
    }
    throw new Error(`create ${key} was never acknowledged`);
  };

  const writers = Array.from({ length: WRITERS }, async (_, w) => {
    for (let n = 0; n < MAX_CREATES && !stop; n++) {
      const k = nextKey++;
      await create(`kill-${runId}-${k}`, k + w);
    }
  });

  // Load for a moment, then catch the victim holding leases on timers it has not fired:
  // freeze it (SIGSTOP) when a lease further ahead than a survivor's can reach shows up —
  // frozen, it fires nothing more, so those leases are an exact picture — and kill -9 it
  // if there still are some; otherwise let it go on (SIGCONT) and look again.
  await sleep(1500);
  const victimLeased = () =>
    pool.query<{ subject_id: string; lease_until: number }>('SELECT subject_id, lease_until FROM timers WHERE lease_until > $1', [
      Date.now() + SURVIVOR_LEASE_MS + 200,
    ]);
  let orphaned = new Map<string, number>();
  let looks = 0;
  for (const watchDeadline = Date.now() + 20_000; Date.now() < watchDeadline; looks++) {
    if ((await victimLeased()).rowCount === 0) {
      await sleep(5);
      continue;
    }
    victim.child.kill('SIGSTOP');
    await sleep(50); // statements it had sent finish (and commit) on the server
    orphaned = new Map((await victimLeased()).rows.map((row) => [row.subject_id, Number(row.lease_until)]));
    if (orphaned.size > 0) break;
    victim.child.kill('SIGCONT');
  }
  victim.child.kill('SIGKILL');
  assert.ok(orphaned.size > 0, `the victim was caught holding leases on unfired timers (${looks} looks)`);
  assert.equal(await victim.exited, 'SIGKILL');

  await sleep(1500); // the survivors carry the load on their own
  stop = true;
  await Promise.all(writers);
  const keys = [...acked.keys()];
  const ids = [...acked.values()];
  console.log(`(c) ${keys.length} creates acknowledged (${failovers} failovers); the victim died holding ${orphaned.size} timer leases`);
  assert.equal(keys.length, nextKey, 'every logical create was acknowledged in the end');

  // No acknowledged write lost, none twice.
  assert.equal(await countWhere('SELECT count(*)::int AS n FROM handoffs WHERE id = ANY($1)', [ids]), ids.length);
  assert.equal(new Set(ids).size, ids.length, 'one handoff per key');
  assert.equal(await countWhere("SELECT count(*)::int AS n FROM handoffs WHERE task_id = 'kill-c'", []), ids.length, 'no duplicates');
  const survivors = replicas.filter((r) => r !== victim);
  await inParallel(keys.slice(0, 300), 16, async (key, i) => {
    const reply = await send(survivors[i % 2]!.url, 'POST', '/v1/handoffs', 'infrastructure-contractor', createBody('kill-c', 0.5 + (Number(key.split('-').at(-1)) % 10) / 10), {
      'idempotency-key': key,
    });
    assert.equal(reply.status, 201);
    assert.equal(reply.body.handoff_id, acked.get(key));
    assert.equal(reply.headers.get('idempotent-replayed'), 'true');
  });

  // Every timer fires exactly once, the orphaned ones after their lease ran out.
  await assertTimedOutOnce(ids, '(c)', 60_000);
  const fired = await pool.query<{ subject_id: string; at: number }>(
    "SELECT subject_id, at FROM history WHERE type = 'handoff.timed_out' AND subject_id = ANY($1)",
    [[...orphaned.keys()]],
  );
  assert.equal(fired.rowCount, orphaned.size);
  for (const row of fired.rows) assert.ok(Number(row.at) >= orphaned.get(row.subject_id)!, 'fired by a survivor once the lease ran out');
});
