// PostgreSQL figures (`npm run bench:postgres`, or `node bench/postgres.ts`), on the
// machine's PostgreSQL (BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test),
// each part in a schema of its own, dropped afterwards:
//
// 1. Lifecycle rate, create → claim → complete over HTTP (3 transitions per handoff), with
//    one replica and with two replicas on one schema; the same number of client
//    connections in both (split evenly over the replicas). Target: two ≥ 1.5 × one.
// 2. Timeout lateness with 100,000 open handoffs: this process creates them with the
//    service's own HandoffService on a PostgresStore (the production mutation, no HTTP):
//    most with deadlines an hour away, BENCH_PG_DUE of them with deadlines spread over a
//    window that opens after the service is up. The service (one replica, default
//    sweeper settings) fires them; lateness = finished_at − (created_at + claim_timeout),
//    read from the records. Target: p99 ≤ 250 ms.
//
// BENCH_PG_PARTS=lifecycle or =lateness runs one part. Every loop is bounded in count and
// time; traffic goes to 127.0.0.1 only.

import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { HandoffService } from '../service/src/domain/handoffs.ts';
import { silentObserver, type Principal } from '../service/src/domain/principal.ts';
import { PostgresStore } from '../service/src/store/postgres/postgres-store.ts';
import {
  cpuSecondsOf,
  fmt,
  handoffLifecycle,
  machineBusySeconds,
  percentile,
  prng,
  runLoad,
  sleep,
  sortedCopy,
  startService,
  tempDir,
  type BenchResult,
  type Benchmark,
  type LoadResult,
  type ServerProcess,
} from './lib.ts';

const DATABASE_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const CLIENTS = Number(process.env.BENCH_PG_CLIENTS ?? 16);
const WARMUP_MS = 2_000;
const DURATION_MS = Number(process.env.BENCH_PG_DURATION_MS ?? 10_000);
const MAX_HANDOFFS = 500_000;
const TARGET_RATIO = 1.5;

const OPEN_HANDOFFS = Number(process.env.BENCH_PG_OPEN ?? 100_000);
const DUE_HANDOFFS = Number(process.env.BENCH_PG_DUE ?? 10_000);
const WINDOW_MS = Number(process.env.BENCH_PG_WINDOW_MS ?? 20_000);
const CREATE_CONCURRENCY = 32;
const INSERT_LIMIT_MS = 300_000;
const START_ALLOWANCE_MS = 8_000;
const DRAIN_LIMIT_MS = 60_000;
const TARGET_P99_MS = 250;
/** Which parts run: BENCH_PG_PARTS=lifecycle,lateness (default both). */
const PARTS = (process.env.BENCH_PG_PARTS ?? 'lifecycle,lateness').split(',').map((part) => part.trim());

function schemaName(part: string): string {
  return `cortex_bench_${part}_${process.pid}_${randomBytes(3).toString('hex')}`;
}

async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: DATABASE_URL });
  try {
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** `count` service replicas on one schema (migrated before they start). */
async function startReplicas(schema: string, count: number, dir: string, env: Record<string, string> = {}): Promise<ServerProcess[]> {
  await (await PostgresStore.open(DATABASE_URL, { schema })).close();
  const replicas: ServerProcess[] = [];
  try {
    for (let i = 0; i < count; i++) {
      replicas.push(
        await startService(`${dir}/replica-${i}/unused.sqlite`, {
          CORTEX_DATABASE_URL: DATABASE_URL,
          CORTEX_DATABASE_SCHEMA: schema,
          CORTEX_LOG_LEVEL: 'warn',
          ...env,
        }),
      );
    }
    return replicas;
  } catch (error) {
    await Promise.all(replicas.map((r) => r.stop()));
    throw error;
  }
}

/** CPU seconds used so far by the local PostgreSQL server's processes (NaN when none is visible). */
function postgresCpuSeconds(): number {
  let total = 0;
  let seen = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() !== 'postgres') continue;
      total += cpuSecondsOf(Number(entry));
      seen++;
    } catch {
      // gone meanwhile
    }
  }
  return seen > 0 ? total : Number.NaN;
}

// ---------------------------------------------------------------- 1. lifecycle

async function lifecycleRate(replicaCount: number, log: (line: string) => void): Promise<{ rate: number; busyCores: number }> {
  const schema = schemaName(`life${replicaCount}`);
  const dir = tempDir('cortex-bench-pg-');
  let replicas: ServerProcess[] = [];
  try {
    replicas = await startReplicas(schema, replicaCount, dir.path);
    const perReplica = Math.max(1, Math.round(CLIENTS / replicaCount));
    const busyAtStart = machineBusySeconds();
    const postgresAtStart = postgresCpuSeconds();
    const cpuAtStart = replicas.map((r) => cpuSecondsOf(r.pid));
    const t0 = performance.now();
    const results: LoadResult[] = await Promise.all(
      replicas.map((replica) =>
        runLoad({
          port: replica.port,
          connections: perReplica,
          warmupMs: WARMUP_MS,
          durationMs: DURATION_MS,
          maxIterations: MAX_HANDOFFS,
          serverPid: replica.pid,
          iteration: (connection, index) => handoffLifecycle(connection, replica.port, `task-${replica.port}-${index}`),
        }),
      ),
    );
    const seconds = (performance.now() - t0) / 1000;
    for (const r of results) if (r.errors) throw new Error(`${r.errors} lifecycles failed: ${r.firstError}`);
    const rate = results.reduce((sum, r) => sum + r.perSecond, 0);
    const serviceCpu = replicas.reduce((sum, r, i) => sum + cpuSecondsOf(r.pid) - cpuAtStart[i]!, 0) / seconds;
    const postgresCpu = (postgresCpuSeconds() - postgresAtStart) / seconds;
    const machine = (machineBusySeconds() - busyAtStart) / seconds;
    // CPU per transition: CPU over the whole run (warm-up included) at the measured rate.
    const transitions = rate * seconds;
    log(
      `${replicaCount} replica${replicaCount > 1 ? 's' : ''}, ${perReplica * replicaCount} clients: ${fmt(rate)} transitions/s ` +
        `(${results.map((r) => fmt(r.perSecond)).join(' + ')}); lifecycle p50 ${fmt(results[0]!.p50, 1)} ms, p99 ${fmt(results[0]!.p99, 1)} ms; ` +
        `service CPU ${fmt(serviceCpu * 100)}% of a core in all (≈ ${fmt((serviceCpu * seconds * 1e6) / transitions)} µs/transition), ` +
        `PostgreSQL ${fmt(postgresCpu * 100)}% (≈ ${fmt((postgresCpu * seconds * 1e6) / transitions)} µs/transition), ` +
        `machine busy ${fmt(machine, 2)} of ${cpus().length} cores`,
    );
    return { rate, busyCores: machine };
  } finally {
    await Promise.all(replicas.map((r) => r.stop()));
    await dropSchema(schema);
    dir.remove();
  }
}

// ---------------------------------------------------------------- 2. lateness

/** Creates `count` pending handoffs through HandoffService on `store`; returns the seconds taken. */
async function createHandoffs(store: PostgresStore, count: number, deadline: (i: number) => number, tag: string): Promise<number> {
  const handoffs = new HandoffService(store, { now: () => Date.now() }, silentObserver);
  const admin: Principal = { name: 'admin', role: 'admin' };
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: CREATE_CONCURRENCY }, async () => {
      while (next < count) {
        const i = next++;
        if (performance.now() - t0 > INSERT_LIMIT_MS) throw new Error(`creates still running after ${INSERT_LIMIT_MS / 1000} s`);
        await handoffs.create(admin, {
          from_contractor: 'infrastructure-contractor',
          to_contractor: i % 2 === 0 ? 'talos-contractor' : 'n8n-contractor',
          task_id: `${tag}-${i}`,
          data: { vm_ids: [100 + (i % 50)], endpoints: ['10.0.0.11'] },
          // The service computes the deadline as created_at + round(claim_timeout × 1000).
          claim_timeout: Math.max(0.001, (deadline(i) - Date.now()) / 1000),
        });
      }
    }),
  );
  return (performance.now() - t0) / 1000;
}

async function lateness(log: (line: string) => void): Promise<BenchResult[]> {
  const schema = schemaName('late');
  const dir = tempDir('cortex-bench-pg-');
  let service: ServerProcess | null = null;
  const store = await PostgresStore.open(DATABASE_URL, { schema, poolSize: 16 });
  try {
    // ---- the handoffs that stay open (deadlines an hour away), then the ones due in the window
    const far = OPEN_HANDOFFS - DUE_HANDOFFS;
    const farSeconds = await createHandoffs(store, far, () => Date.now() + 3_600_000, 'open');
    log(`created ${fmt(far)} handoffs due in an hour via HandoffService.create → PostgresStore.apply in ${fmt(farSeconds, 1)} s (${fmt(far / farSeconds)}/s)`);
    const estimateMs = (DUE_HANDOFFS / Math.max(far, 1)) * farSeconds * 1000 * 1.5;
    const windowStart = Date.now() + Math.ceil(estimateMs) + START_ALLOWANCE_MS;
    const random = prng(20_240_601);
    const dueSeconds = await createHandoffs(store, DUE_HANDOFFS, () => windowStart + Math.floor(random() * WINDOW_MS), 'due');
    log(`created ${fmt(DUE_HANDOFFS)} more with deadlines spread over ${WINDOW_MS / 1000} s (${fmt(DUE_HANDOFFS / (WINDOW_MS / 1000))}/s) in ${fmt(dueSeconds, 1)} s`);
    if (Date.now() > windowStart - 3_000) throw new Error('the creates ran past the planned window (the machine slowed down); run again');

    // ---- one replica fires them
    service = (await startReplicas(schema, 1, dir.path))[0]!;
    const margin = windowStart - Date.now();
    log(`service up ${fmt(margin / 1000, 1)} s before the first deadline, ${fmt(await store.countTimers())} open deadlines; default sweeper settings`);
    if (margin < 500) throw new Error(`the service came up ${-margin} ms after the first deadline; run again`);
    const cpuAtWindow = cpuSecondsOf(service.pid);
    const giveUpAt = windowStart + WINDOW_MS + DRAIN_LIMIT_MS;
    const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 1, options: `-c search_path=${schema}` });
    let fired = 0;
    try {
      await sleep(Math.max(0, windowStart - Date.now()));
      for (let poll = 0; poll < 10_000 && Date.now() < giveUpAt; poll++) {
        const { rows } = await pool.query<{ n: number }>("SELECT count(*)::int AS n FROM handoffs WHERE status = 'failed'");
        fired = rows[0]!.n;
        if (fired >= DUE_HANDOFFS) break;
        await sleep(250);
      }
      const cpuUsed = cpuSecondsOf(service.pid) - cpuAtWindow;
      const { rows } = await pool.query<{ late: number; finished: number }>(
        `SELECT (b->>'finished_at')::bigint - ((b->>'created_at')::bigint + round((b->>'claim_timeout')::numeric * 1000)::bigint) AS late,
                (b->>'finished_at')::bigint AS finished
         FROM (SELECT body::jsonb AS b FROM handoffs WHERE status = 'failed') x`,
      );
      const late = sortedCopy(rows.map((r) => Number(r.late)));
      const p50 = percentile(late, 0.5);
      const p99 = percentile(late, 0.99);
      const fin = sortedCopy(rows.map((r) => Number(r.finished)));
      const span = ((fin[fin.length - 1] ?? 0) - (fin[0] ?? 0)) / 1000;
      log(
        `fired ${fmt(rows.length)} of ${fmt(DUE_HANDOFFS)} with ${fmt(OPEN_HANDOFFS)} open; lateness p50 ${fmt(p50)} ms, p99 ${fmt(p99)} ms, ` +
          `max ${fmt(late[late.length - 1] ?? Number.NaN)} ms; firing over ${fmt(span, 1)} s; service CPU ${fmt(cpuUsed, 1)} s ` +
          `(${fmt((cpuUsed / Math.max(rows.length, 1)) * 1e6)} µs per fired deadline)`,
      );
      const complete = rows.length === DUE_HANDOFFS;
      return [
        { bench: 'postgres', metric: `lateness p50, ${fmt(OPEN_HANDOFFS / 1000)}k open (PostgreSQL)`, value: `${fmt(p50)} ms`, target: '—', pass: null },
        {
          bench: 'postgres',
          metric: `lateness p99, ${fmt(OPEN_HANDOFFS / 1000)}k open (PostgreSQL)`,
          value: `${fmt(p99)} ms${complete ? '' : ` (${fmt(DUE_HANDOFFS - rows.length)} missing)`}`,
          target: `≤ ${TARGET_P99_MS} ms`,
          pass: complete && p99 <= TARGET_P99_MS,
        },
      ];
    } finally {
      await pool.end();
    }
  } finally {
    await service?.stop();
    await store.close();
    await dropSchema(schema);
    dir.remove();
  }
}

// ---------------------------------------------------------------- the benchmark

export const postgres: Benchmark = {
  name: 'postgres',
  title: 'PostgreSQL: lifecycle rate with one and two replicas, timeout lateness with 100k open handoffs',
  async run(log) {
    const results: BenchResult[] = [];
    if (PARTS.includes('lifecycle')) {
      const single = await lifecycleRate(1, log);
      const one = single.rate;
      const two = (await lifecycleRate(2, log)).rate;
      const ratio = two / one;
      // A second replica can add at most the CPU the first one left idle (PostgreSQL and the load
      // generator share the same cores), so no code change can take the ratio past this here.
      const ceiling = cpus().length / Math.max(single.busyCores, 0.01);
      log(
        `two replicas / one: ${fmt(ratio, 2)}× (${cpus().length} cores on this machine, shared with PostgreSQL and the load generator; ` +
          `one replica kept ${fmt(single.busyCores, 2)} of them busy, so two could reach at most ${fmt(ceiling, 2)}× here)`,
      );
      results.push(
        { bench: 'postgres', metric: 'lifecycle, 1 replica (PostgreSQL)', value: `${fmt(one)} transitions/s`, target: '—', pass: null },
        { bench: 'postgres', metric: 'lifecycle, 2 replicas (PostgreSQL)', value: `${fmt(two)} transitions/s`, target: '—', pass: null },
        { bench: 'postgres', metric: 'lifecycle, 2 replicas / 1', value: `${fmt(ratio, 2)}×`, target: `≥ ${TARGET_RATIO}×`, pass: ratio >= TARGET_RATIO },
        { bench: 'postgres', metric: 'ceiling of 2 / 1 on this machine', value: `${fmt(ceiling, 2)}×`, target: '—', pass: null },
      );
    }
    if (PARTS.includes('lateness')) results.push(...(await lateness(log)));
    return results;
  },
};

async function main(): Promise<number> {
  console.log(`cortex bench postgres: node ${process.version}, ${cpus().length} cores, ${DATABASE_URL.replace(/\/\/[^@]*@/, '//…@')}`);
  const results = await postgres.run((line) => console.log(`  ${line}`));
  console.log('');
  for (const r of results) {
    console.log(`${r.metric.padEnd(44)} ${r.value.padEnd(26)} target ${r.target.padEnd(10)} ${r.pass === null ? 'info' : r.pass ? 'PASS' : 'MISS'}`);
  }
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
