// 3. Timeout lateness with 100,000 open handoffs.
//
// This process creates 100,000 pending handoffs on the SQLite file, no HTTP: the domain's
// HandoffService.create decides each one (the production mutation: record, history,
// claim timer, stats), and the SQLite store's own MutationWriter — the body of
// SqliteStore.apply — writes them, 1,000 mutations per transaction instead of one (one
// commit per handoff would take 20–40 s here). Their claim deadlines are spread uniformly
// at random over a window that opens after the service is up. Then `node service/src/main.ts` starts on the file with its
// default sweeper settings, and lets every deadline fire. Lateness is the handoff's
// finished_at (set by the service when it fired) minus its due time
// (created_at + claim_timeout), read from the database afterwards.

import Database from 'better-sqlite3';
import { performance } from 'node:perf_hooks';
import { HandoffService } from '../service/src/domain/handoffs.ts';
import { silentObserver, type Principal } from '../service/src/domain/principal.ts';
import type { Handoff } from '../service/src/domain/types.ts';
import { SqliteStore } from '../service/src/store/sqlite/sqlite-store.ts';
import { prepareStatements } from '../service/src/store/sqlite/statements.ts';
import { MutationWriter } from '../service/src/store/sqlite/writes.ts';
import type { Mutation, Store } from '../service/src/store/store.ts';
import {
  ADMIN_TOKEN,
  cpuSecondsOf,
  fmt,
  machineBusySeconds,
  percentile,
  prng,
  promCounter,
  requestOnce,
  sleep,
  sortedCopy,
  startService,
  tempDir,
  type Benchmark,
  type ServerProcess,
} from './lib.ts';

const HANDOFFS = Number(process.env.BENCH_TIMEOUT_HANDOFFS ?? 100_000);
/**
 * Inserts timed on a scratch file first, to size the lead from the inserts' start to the
 * first deadline: four times the estimate (a growing file is slower than the scratch one,
 * and a busy machine slower still) plus the service's start, kept within [20 s, 45 s].
 */
const CALIBRATION = 5_000;
const LEAD_MIN_MS = 20_000;
const LEAD_MAX_MS = 45_000;
/** The service's start, before the first deadline. */
const START_ALLOWANCE_MS = 4_000;
const MUTATIONS_PER_TRANSACTION = 1_000;
/** The deadlines are spread over this window. */
const WINDOW_MS = Number(process.env.BENCH_TIMEOUT_WINDOW_MS ?? 45_000);
/** Give up waiting this long after the window closes. */
const DRAIN_LIMIT_MS = 30_000;
const TARGET_P99_MS = 250;

/**
 * Creates `count` pending handoffs on a fresh file: HandoffService.create decides each,
 * the SQLite store's MutationWriter writes them in batched transactions. `dueAt()` gives
 * each one's claim deadline. Returns the seconds taken.
 */
async function insert(path: string, count: number, dueAt: () => number, limitMs: number): Promise<number> {
  await SqliteStore.open(path).close(); // the schema, as the service makes it
  const db = new Database(path);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 5000');
    db.pragma('cache_size = -262144'); // 256 MiB for this bulk load (the service keeps its own setting)
    const writer = new MutationWriter(prepareStatements(db));
    const write = db.transaction((mutations: Mutation[], at: number) => {
      for (const mutation of mutations) writer.apply(mutation, at);
    });
    const decided: Mutation[] = [];
    const collect = { apply: async (mutation: Mutation) => void decided.push(mutation) } as unknown as Store;
    let now = Date.now();
    const handoffs = new HandoffService(collect, { now: () => now }, silentObserver);
    const admin: Principal = { name: 'admin', role: 'admin' };
    const t0 = performance.now();
    const flush = () => {
      write.immediate(decided, Date.now());
      decided.length = 0;
    };
    for (let i = 0; i < count; i++) {
      now = Date.now();
      if (performance.now() - t0 > limitMs) {
        throw new Error(`the inserts took longer than the ${fmt(limitMs / 1000, 1)} s planned (${fmt(i)} done): the machine is busy; run again`);
      }
      await handoffs.create(admin, {
        from_contractor: 'infrastructure-contractor',
        to_contractor: i % 2 === 0 ? 'talos-contractor' : 'n8n-contractor',
        task_id: `task-${i}`,
        data: { vm_ids: [100 + (i % 50)], endpoints: ['10.0.0.11'] },
        // The service computes the deadline as created_at + round(claim_timeout × 1000).
        claim_timeout: (dueAt() - now) / 1000,
      });
      if (decided.length >= MUTATIONS_PER_TRANSACTION) flush();
    }
    flush();
    return (performance.now() - t0) / 1000;
  } finally {
    db.close();
  }
}

export const timeouts: Benchmark = {
  name: 'timeouts',
  title: `timeout lateness with ${fmt(HANDOFFS)} open handoffs`,
  async run(log) {
    const dir = tempDir('cortex-bench-timeouts-');
    const databasePath = `${dir.path}/cortex.sqlite`;
    let service: ServerProcess | null = null;
    try {
      // ---- how long will the inserts take here, now?
      const calibration = await insert(`${dir.path}/calibration.sqlite`, CALIBRATION, () => Date.now() + 3_600_000, 60_000);
      const estimateMs = (HANDOFFS / CALIBRATION) * calibration * 1000;
      const leadMs = Math.min(LEAD_MAX_MS, Math.max(LEAD_MIN_MS, Math.ceil(estimateMs * 4) + START_ALLOWANCE_MS));

      // ---- insert, deadlines in [windowStart, windowStart + WINDOW_MS)
      const insertStart = Date.now();
      const windowStart = insertStart + leadMs;
      const random = prng(20_240_601);
      const insertSeconds = await insert(
        databasePath,
        HANDOFFS,
        () => windowStart + Math.floor(random() * WINDOW_MS),
        leadMs - START_ALLOWANCE_MS,
      );
      log(
        `inserted ${fmt(HANDOFFS)} pending handoffs with claim deadlines (no HTTP: HandoffService.create's mutations written by the ` +
          `SQLite store's MutationWriter, ${fmt(MUTATIONS_PER_TRANSACTION)} per transaction) in ${fmt(insertSeconds, 1)} s ` +
          `(${fmt(HANDOFFS / insertSeconds)}/s; estimated ${fmt(estimateMs / 1000, 1)} s, first deadline planned at ${fmt(leadMs / 1000, 1)} s)`,
      );

      // ---- the service fires them
      service = await startService(databasePath);
      const margin = windowStart - Date.now();
      log(`service up ${fmt(margin / 1000, 1)} s before the first deadline; deadlines spread over ${WINDOW_MS / 1000} s (${fmt(HANDOFFS / (WINDOW_MS / 1000))}/s); default sweeper settings (interval 1000 ms, batch 500)`);
      if (margin < 500) throw new Error(`the service came up ${-margin} ms after the first deadline (the machine slowed down); run again`);
      await sleep(windowStart - Date.now());
      const cpuAtWindow = cpuSecondsOf(service.pid);
      const machineAtWindow = machineBusySeconds();
      const ownAtWindow = process.cpuUsage();
      const clockAtWindow = performance.now();
      const giveUpAt = windowStart + WINDOW_MS + DRAIN_LIMIT_MS;
      let fired = 0;
      for (let poll = 0; poll < 10_000 && Date.now() < giveUpAt; poll++) {
        const metrics = await requestOnce(service.port, 'GET', '/metrics', { token: ADMIN_TOKEN });
        fired = promCounter(metrics.text, 'cortex_timeouts_fired_total', { kind: 'claim' });
        if (fired >= HANDOFFS) break;
        await sleep(250);
      }
      const cpuUsed = cpuSecondsOf(service.pid) - cpuAtWindow;
      const own = process.cpuUsage(ownAtWindow);
      const otherLoad =
        (machineBusySeconds() - machineAtWindow - cpuUsed - (own.user + own.system) / 1e6) / ((performance.now() - clockAtWindow) / 1000);
      await service.stop();
      const serviceOutput = service.output();
      service = null;
      if (fired < HANDOFFS) {
        log(`only ${fmt(fired)} of ${fmt(HANDOFFS)} deadlines fired by ${DRAIN_LIMIT_MS / 1000} s after the window; the service said:`);
        for (const line of serviceOutput.split('\n').slice(-12)) log(`  ${line.slice(0, 400)}`);
      }

      // ---- lateness from the records
      const db = new Database(databasePath, { readonly: true });
      const lateness: number[] = [];
      const finished: number[] = [];
      let notTimedOut = 0;
      try {
        for (const body of db.prepare('SELECT body FROM handoffs').pluck().iterate() as IterableIterator<string>) {
          const h = JSON.parse(body) as Handoff;
          if (h.status !== 'failed' || h.error?.code !== 'handoff_claim_timeout' || h.finished_at === null) {
            notTimedOut++;
            continue;
          }
          lateness.push(h.finished_at - (h.created_at + Math.round((h.claim_timeout ?? 0) * 1000)));
          finished.push(h.finished_at);
        }
      } finally {
        db.close();
      }
      // Lateness over the window, in tenths of it: does it stay flat or build up?
      const segments = 10;
      const bySegment: number[][] = Array.from({ length: segments }, () => []);
      for (let i = 0; i < lateness.length; i++) {
        const due = finished[i]! - lateness[i]!;
        const segment = Math.min(segments - 1, Math.max(0, Math.floor(((due - windowStart) / WINDOW_MS) * segments)));
        bySegment[segment]!.push(lateness[i]!);
      }
      log(
        `lateness p99 by tenth of the window: ${bySegment
          .map((values) => (values.length ? fmt(percentile(sortedCopy(values), 0.99)) : '-'))
          .join(', ')} ms`,
      );
      const late = sortedCopy(lateness);
      const p50 = percentile(late, 0.5);
      const p99 = percentile(late, 0.99);
      const max = late[late.length - 1] ?? Number.NaN;
      const min = late[0] ?? Number.NaN;
      const fin = sortedCopy(finished);
      const spanSeconds = ((fin[fin.length - 1] ?? 0) - (fin[0] ?? 0)) / 1000;
      const rate = fin.length / Math.max(spanSeconds, 0.001);
      let peak = 0;
      for (let i = 0, j = 0; i < fin.length; i++) {
        while (fin[i]! - fin[j]! >= 1000) j++;
        peak = Math.max(peak, i - j + 1);
      }
      log(`fired ${fmt(lateness.length)} (${notTimedOut} not timed out); lateness p50 ${fmt(p50)} ms, p99 ${fmt(p99)} ms, max ${fmt(max)} ms, min ${fmt(min)} ms`);
      log(`firing rate ${fmt(rate)}/s over ${fmt(spanSeconds, 1)} s (peak ${fmt(peak)} in one second); other load on the machine ${fmt(otherLoad, 2)} cores; service CPU ${fmt(cpuUsed, 1)} s ≈ ${fmt((cpuUsed / Math.max(lateness.length, 1)) * 1e6)} µs per fired timeout (≈ ${fmt(lateness.length / Math.max(cpuUsed, 0.001))}/s if CPU-bound)`);
      const complete = lateness.length === HANDOFFS && notTimedOut === 0;
      return [
        {
          bench: 'timeouts',
          metric: `lateness p50, ${fmt(HANDOFFS / 1000)}k open handoffs`,
          value: `${fmt(p50)} ms`,
          target: '—',
          pass: null,
        },
        {
          bench: 'timeouts',
          metric: `lateness p99, ${fmt(HANDOFFS / 1000)}k open handoffs`,
          value: `${fmt(p99)} ms`,
          target: `≤ ${TARGET_P99_MS} ms`,
          pass: complete && p99 <= TARGET_P99_MS,
          otherLoad: otherLoad,
        },
        {
          bench: 'timeouts',
          metric: 'firing rate (all fired)',
          value: `${fmt(rate)}/s${complete ? '' : ` (${fmt(HANDOFFS - lateness.length)} missing)`}`,
          target: `${fmt(HANDOFFS / (WINDOW_MS / 1000))}/s due`,
          pass: null,
        },
      ];
    } finally {
      await service?.stop();
      dir.remove();
    }
  },
};
