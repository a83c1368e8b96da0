// Proxmox clone benchmark (`npm run bench:proxmox`): one workflow clones one template N times
// (default 50) through the Proxmox node on the real n8n engine, against the Proxmox VE
// simulator with lock contention on the template, and reports
//   - API calls in all, per clone, and how many were task status polls (fewer is better);
//   - wall time as a ratio of the sum of the simulated clone task durations (the time the
//     same clones take back to back: the baseline measured in the same run).
//
// Times are scaled (BENCH_PVE_SCALE, default 0.25: a 4 s clone runs 1 s, the 1 s poll interval
// is 250 ms, the 10 s lock wait 2.5 s); call counts do not depend on the scale.
// Two scenarios, each on a fresh simulator: BENCH_PVE_CONCURRENCY clones at a time (default
// 10), and twice as many, where waiting for the template's lock passes the lock wait and the
// node retries "got timeout" with backoff.
// Knobs: BENCH_PVE_CLONES (50), BENCH_PVE_CONCURRENCY (10), BENCH_PVE_CLONE_MS (4000, real
// time before scaling), BENCH_PVE_HOLD_MS (1000: how long each clone call holds the template's
// lock file, before scaling), BENCH_PVE_TRANSIENT (0: share of writes failing transiently).
// Traffic goes to 127.0.0.1 only; the run is bounded by the node's task and lock timeouts.

import { performance } from 'node:perf_hooks';
import { createEngine } from '../test/nodes/engine.ts';
import { DEFAULT_TOKENS, ProxmoxSimulator } from '../test/simulators/proxmox/server.ts';

// Node modules that import n8n-workflow load after the engine (its ESM hook).
const { Proxmox } = await import('../nodes/Proxmox/Proxmox.node.ts');
const { ProxmoxApi } = await import('../credentials/ProxmoxApi.credentials.ts');

const SCALE = Number(process.env.BENCH_PVE_SCALE ?? 0.25);
const CLONES = Math.max(1, Math.min(500, Number(process.env.BENCH_PVE_CLONES ?? 50)));
/** Items at a time in each scenario: the default one, and twice as many (template lock waits then time out and are retried). */
const CONCURRENCY = Math.max(1, Math.min(25, Number(process.env.BENCH_PVE_CONCURRENCY ?? 10)));
const CLONE_MS = Number(process.env.BENCH_PVE_CLONE_MS ?? 4000);
const HOLD_MS = Number(process.env.BENCH_PVE_HOLD_MS ?? 1000);
const TRANSIENT = Number(process.env.BENCH_PVE_TRANSIENT ?? 0);

const fmt = (n: number, digits = 2) => n.toFixed(digits);

interface Figures {
  scenario: string;
  concurrency: number;
  ok: number;
  distinctVmids: number;
  apiCalls: number;
  apiCallsPerClone: number;
  statusPolls: number;
  statusPollsPerClone: number;
  clonePosts: number;
  lockTimeouts: number;
  wallMs: number;
  sumTaskMs: number;
  wallOverSumOfTasks: number;
}

async function scenario(name: string, concurrency: number): Promise<Figures> {
  const sim = await ProxmoxSimulator.start({
    timeScale: SCALE,
    taskDurations: { qmclone: CLONE_MS },
    cloneSourceLockMs: HOLD_MS * SCALE,
    lockWaitMs: 10_000 * SCALE,
    transientFailureRate: TRANSIENT,
  });
  const token = DEFAULT_TOKENS[0]!;
  const engine = createEngine({
    nodeTypes: [Proxmox],
    credentialTypes: [ProxmoxApi],
    credentials: { proxmoxApi: { id: 'bench', name: 'bench', data: { baseUrl: sim.url, tokenId: token.tokenid, tokenSecret: token.secret, ca: sim.caPem } } },
  });
  try {
    const START = 'Start';
    const items = Array.from({ length: CLONES }, (_, i) => ({ json: { name: `bench-${String(i + 1).padStart(3, '0')}` } }));
    const options = {
      concurrency,
      pollInterval: Math.round(1000 * SCALE),
      retryDelay: Math.round(1000 * SCALE),
      taskTimeout: 600,
      lockWaitTimeout: 600,
    };
    sim.resetStats();
    const started = performance.now();
    const result = await engine.run(
      {
        nodes: [
          { name: START, type: 'n8n-nodes-base.manualTrigger', parameters: {} },
          { name: 'Clone', type: 'n8n-nodes-cortex.proxmox', parameters: { resource: 'vm', operation: 'clone', vmId: { mode: 'id', value: '9000' }, cloneName: '={{ $json.name }}', options } },
        ],
        connections: { [START]: { main: [[{ node: 'Clone', type: 'main', index: 0 }]] } },
      },
      { startNodeData: items },
    );
    const wallMs = performance.now() - started;
    if (result.status !== 'success') throw new Error(`the clone run failed: ${String(result.error?.message)}`);
    const out = result.jsonOf('Clone');
    const stats = sim.stats();
    const sumTaskMs = stats.taskDurationByType.qmclone ?? 0;
    const figures: Figures = {
      scenario: name,
      concurrency,
      ok: out.filter((o) => o.status === 'OK').length,
      distinctVmids: new Set(out.map((o) => o.vmid)).size,
      apiCalls: stats.calls,
      apiCallsPerClone: Number(fmt(stats.calls / CLONES)),
      statusPolls: stats.statusPolls,
      statusPollsPerClone: Number(fmt(stats.statusPolls / CLONES)),
      clonePosts: stats.byRoute['POST /nodes/{node}/qemu/{vmid}/clone'] ?? 0,
      lockTimeouts: stats.lockTimeouts,
      wallMs: Math.round(wallMs),
      sumTaskMs: Math.round(sumTaskMs),
      wallOverSumOfTasks: Number(fmt(wallMs / sumTaskMs, 3)),
    };
    console.log(`${name}: ${CLONES} clones of template 9000, ${concurrency} at a time`);
    console.log(`  result: ${figures.ok}/${CLONES} OK, ${figures.distinctVmids} distinct VMIDs`);
    console.log(`  API calls: ${stats.calls} (${fmt(stats.calls / CLONES)} per clone), of them task status polls: ${stats.statusPolls} (${fmt(stats.statusPolls / CLONES)} per clone)`);
    console.log(
      `    clone requests ${figures.clonePosts} (template lock timeouts retried: ${stats.lockTimeouts}); next-VMID lookups ${stats.byRoute['GET /cluster/nextid'] ?? 0}; ` +
        `cluster listings ${stats.byRoute['GET /cluster/resources'] ?? 0}; injected transient failures ${stats.injectedFailures}`,
    );
    console.log(`  wall time ${fmt(wallMs / 1000)} s; sum of simulated clone task durations ${fmt(sumTaskMs / 1000)} s`);
    console.log(
      `  wall / sum of task durations: ${fmt(wallMs / sumTaskMs, 3)} (back to back = 1; ${concurrency} at a time at best ${fmt(1 / concurrency, 3)}; ` +
        `the template lock alone needs ≥ ${fmt((CLONES * HOLD_MS * SCALE) / sumTaskMs, 3)})`,
    );
    return figures;
  } finally {
    await engine.close();
    await sim.close();
  }
}

console.log(
  `Proxmox clone benchmark: simulated clone task ${fmt(CLONE_MS * SCALE, 0)} ms, template lock held ${fmt(HOLD_MS * SCALE, 0)} ms per clone call, ` +
    `lock wait ${fmt(10_000 * SCALE, 0)} ms, poll interval ${fmt(1000 * SCALE, 0)} ms (time scale ${SCALE})`,
);
const results = [await scenario('parallel', CONCURRENCY), await scenario('parallel, contended', CONCURRENCY * 2)];
console.log(JSON.stringify({ bench: 'proxmox-clones', clones: CLONES, timeScale: SCALE, results }));
