// Metrics against hand-computed values: the seed's workflow-stats and
// contractor-performance shapes, the Prometheus text, and the duration histogram's
// precision. The service runs on a fake clock so that runs "last" for minutes.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { bucketOf, quantileFromBuckets } from '../../service/src/domain/histogram.ts';
import { handoffBody, startTestService, type ContractorName, type TestService } from './harness.ts';

type Who = ContractorName | 'admin';

const INFRA = 'infrastructure-contractor';
const TALOS = 'talos-contractor';
const N8N = 'n8n-contractor';

/** A clock that moves only when told to; starts a minute ahead of real time and only goes forward. */
function fakeClock() {
  let t = Math.ceil(Date.now() / 1000) * 1000 + 60_000;
  return {
    now: () => t,
    advance(ms: number) {
      assert.ok(ms >= 0);
      t += ms;
    },
  };
}
type FakeClock = ReturnType<typeof fakeClock>;

const seconds = (s: number): number => Math.round(s * 1000);
const isoSeconds = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** The value of one Prometheus sample (0 when absent); labels must match exactly. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const got: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g)) got[pair[1]!] = pair[2]!;
    if (Object.keys(labels).length !== Object.keys(got).length) continue;
    if (Object.entries(labels).every(([key, value]) => got[key] === value)) return Number(match[3]);
  }
  return 0;
}

function client(svc: TestService) {
  const ok = async (method: string, path: string, as: Who, body?: unknown, status = method === 'POST' && path.split('/').length === 3 ? 201 : 200) => {
    const reply = await svc.call(method, path, { as, body });
    assert.equal(reply.status, status, `${method} ${path} as ${as}: ${reply.text}`);
    return reply.body;
  };
  return {
    ok,
    prometheus: async () => {
      const reply = await svc.call('GET', '/metrics', { as: null });
      assert.equal(reply.status, 200);
      return reply.text;
    },
    handoff: (as: Who, overrides: Record<string, unknown>) => ok('POST', '/v1/handoffs', as, handoffBody(overrides), 201),
    act: (id: string, action: string, as: Who, body: unknown = {}) => ok('POST', `/v1/handoffs/${id}/${action}`, as, body),
    startRun: (workflow_id: string, extra: Record<string, unknown> = {}) => ok('POST', '/v1/runs', 'admin', { workflow_id, ...extra }, 201),
  };
}

// ---------------------------------------------------------------- workflow stats

const METRICS_FLOW = {
  workflow_id: 'metrics-flow',
  workflow_name: 'Metrics flow',
  version: '1.0.0',
  contractors: [INFRA, TALOS],
  phases: [
    { phase_id: 'build', contractor: INFRA, timeout: 3100, actions: [{ action_id: 'clone', action: 'clone_vm' }] },
    { phase_id: 'ship', contractor: TALOS, actions: [{ action_id: 'apply', action: 'apply_configuration' }] },
  ],
  rollback_procedure: { phases: ['build-rollback'] },
};

/**
 * 21 counted runs (seconds). 3100.5 is the one failure (its phase deadline fires);
 * 2450.0 and 2734.2 overlap at the end, 2734.2 started first and finishing last.
 * Hand-computed: success_rate 20/21 = 0.95238 → 0.952; sum 60953.2 s, mean 2902.533 → "2903s"
 * (a floor would say 2902); min 2312.6 → "2313s"; max 3621.4 → "3621s"; nearest-rank p95 is
 * rank ceil(0.95 × 21) = 20: 3450.0 s (rank 19 is 3300.0, rank 21 is 3621.4, both beyond 0.5 %).
 */
const SEQUENTIAL = [3205.3, 2312.6, 3450.0, 2877.0, 2501.3, 3621.4, 2580.9, 3100.5, 2633.0, 2702.4, 2760.0, 2811.1, 2845.0, 2902.2, 2955.5, 3010.0, 3050.8, 3150.0, 3300.0];
const FAILED = 3100.5;
const OVERLAP_FIRST = 2734.2; // starts first, finishes last
const OVERLAP_SECOND = 2450.0; // starts 100 s later, finishes 2550 s after the first started

describe('workflow stats', () => {
  let svc: TestService;
  let clock: FakeClock;
  let api: ReturnType<typeof client>;
  let lastFinishedAt = 0;
  before(async () => {
    clock = fakeClock();
    svc = await startTestService({}, { clock });
    api = client(svc);
    await api.ok('POST', '/v1/definitions', 'admin', METRICS_FLOW, 201);

    for (const duration of SEQUENTIAL) {
      const run = await api.startRun('metrics-flow');
      if (duration === FAILED) {
        await api.ok('POST', `/v1/runs/${run.run_id}/phases/build/start`, INFRA);
        clock.advance(seconds(duration)); // 0.5 s past the phase's 3100 s deadline
        await svc.service.sweepNow();
        const failed = await api.ok('GET', `/v1/runs/${run.run_id}`, 'admin');
        assert.equal(failed.status, 'failed');
        assert.equal(failed.error.code, 'phase_timeout');
      } else {
        clock.advance(seconds(duration));
        await api.ok('POST', `/v1/runs/${run.run_id}/complete`, 'admin');
      }
      clock.advance(60_000); // idle time between runs counts for nothing
    }
    // A dry run and a run still in progress are not executions.
    const dry = await api.startRun('metrics-flow', { dry_run: true });
    const open = await api.startRun('metrics-flow');
    clock.advance(seconds(9999));
    await api.ok('POST', `/v1/runs/${dry.run_id}/complete`, 'admin');
    void open;

    const first = await api.startRun('metrics-flow');
    clock.advance(100_000);
    const second = await api.startRun('metrics-flow');
    clock.advance(seconds(OVERLAP_SECOND));
    await api.ok('POST', `/v1/runs/${second.run_id}/complete`, 'admin');
    clock.advance(seconds(OVERLAP_FIRST) - 100_000 - seconds(OVERLAP_SECOND));
    await api.ok('POST', `/v1/runs/${first.run_id}/complete`, 'admin');
    lastFinishedAt = clock.now();
  });
  after(async () => {
    await svc.stop();
  });

  test('GET /v1/metrics/workflows/:id matches the hand-computed figures', async () => {
    const stats = await api.ok('GET', '/v1/metrics/workflows/metrics-flow', TALOS);
    assert.equal(stats.workflow_id, 'metrics-flow');
    assert.deepEqual(stats.executions, { total: 21, successful: 20, failed: 1, success_rate: 0.952 });
    assert.equal(stats.performance.avg_duration, '2903s');
    assert.equal(stats.performance.min_duration, '2313s');
    assert.equal(stats.performance.max_duration, '3621s');
    assert.deepEqual(stats.last_execution, { timestamp: isoSeconds(lastFinishedAt), status: 'completed', duration: '2734s' });
  });

  test('p95 is within the histogram\'s 0.5 % of the exact nearest-rank p95', async () => {
    const all = [...SEQUENTIAL, OVERLAP_FIRST, OVERLAP_SECOND].sort((a, b) => a - b);
    assert.equal(all.length, 21);
    const exact = all[Math.ceil(0.95 * all.length) - 1]!;
    assert.equal(exact, 3450.0);
    const stats = await api.ok('GET', '/v1/metrics/workflows/metrics-flow', 'admin');
    const match = /^(\d+)s$/.exec(stats.performance.p95_duration);
    assert.ok(match, stats.performance.p95_duration);
    const p95 = Number(match[1]);
    // The bucket's upper bound, at most 0.5 % above; then rounded to whole seconds.
    assert.ok(p95 >= Math.round(exact) && p95 <= Math.round(exact * 1.005), `p95 ${p95}s, exact ${exact}s`);
  });

  test('the list holds the workflow; a workflow that never finished a run reports zeros', async () => {
    const list = await api.ok('GET', '/v1/metrics/workflows', 'admin');
    assert.deepEqual(list.items.map((item: any) => item.workflow_id), ['metrics-flow']);
    const none = await api.ok('GET', '/v1/metrics/workflows/never-ran', 'admin');
    assert.deepEqual(none, {
      workflow_id: 'never-ran',
      executions: { total: 0, successful: 0, failed: 0, success_rate: 0 },
      performance: { avg_duration: null, min_duration: null, max_duration: null, p95_duration: null },
      last_execution: null,
    });
  });

  test('cortex_run_duration_seconds holds the same runs', async () => {
    const text = await api.prometheus();
    const completed = { workflow_id: 'metrics-flow', status: 'completed' };
    const failed = { workflow_id: 'metrics-flow', status: 'failed' };
    assert.equal(sample(text, 'cortex_run_duration_seconds_count', completed), 20);
    assert.equal(sample(text, 'cortex_run_duration_seconds_count', failed), 1);
    const completedSum = [...SEQUENTIAL, OVERLAP_FIRST, OVERLAP_SECOND].reduce((sum, d) => sum + d, 0) - FAILED;
    assert.ok(Math.abs(sample(text, 'cortex_run_duration_seconds_sum', completed) - completedSum) < 1e-6);
    assert.ok(Math.abs(sample(text, 'cortex_run_duration_seconds_sum', failed) - FAILED) < 1e-6);
    // Buckets by hand: of the completed durations, 5 are ≤ 2700 s and 19 are ≤ 3600 s.
    assert.equal(sample(text, 'cortex_run_duration_seconds_bucket', { ...completed, le: '1800' }), 0);
    assert.equal(sample(text, 'cortex_run_duration_seconds_bucket', { ...completed, le: '2700' }), 5);
    assert.equal(sample(text, 'cortex_run_duration_seconds_bucket', { ...completed, le: '3600' }), 19);
    assert.equal(sample(text, 'cortex_run_duration_seconds_bucket', { ...completed, le: '+Inf' }), 20);
    assert.equal(sample(text, 'cortex_run_duration_seconds_bucket', { ...failed, le: '3600' }), 1);
    assert.equal(sample(text, 'cortex_timeouts_fired_total', { kind: 'phase' }), 1);
  });
});

// ---------------------------------------------------------------- contractor performance

describe('contractor performance', () => {
  let svc: TestService;
  let clock: FakeClock;
  let api: ReturnType<typeof client>;
  before(async () => {
    clock = fakeClock();
    svc = await startTestService({}, { clock });
    api = client(svc);
    await api.ok('POST', '/v1/definitions', 'admin', METRICS_FLOW, 201);
    await api.ok('POST', '/v1/definitions', 'admin', {
      workflow_id: 'solo-flow',
      workflow_name: 'Solo',
      version: '1.0.0',
      contractors: [N8N],
      phases: [{ phase_id: 'only', contractor: N8N, actions: [] }],
    }, 201);
  });
  after(async () => {
    await svc.stop();
  });

  test('workflows_participated, avg_handoff_time, error_rate and common_errors by hand', async () => {
    const toTalos = (task_id: string, extra: Record<string, unknown> = {}) => api.handoff(INFRA, { task_id, ...extra });
    const fail = (id: string, code: string) => api.act(id, 'fail', TALOS, { error: { code, message: code } });
    const completeAfter = async (task: string, claimAfter: number, finishAfter: number) => {
      const h = await toTalos(task);
      clock.advance(seconds(claimAfter));
      await api.act(h.handoff_id, 'claim', TALOS);
      clock.advance(seconds(finishAfter));
      await api.act(h.handoff_id, 'complete', TALOS, { result: {} });
    };

    // Addressed to talos-contractor; creation → end in seconds:
    await completeAfter('task-a', 10, 20); // 30.0, completed
    await completeAfter('task-a', 2.4, 50); // 52.4, completed
    for (const [task, after, claimFirst] of [['task-b', 20, true], ['task-b', 41.3, true], ['task-c', 5, false]] as const) {
      const h = await toTalos(task);
      if (claimFirst) await api.act(h.handoff_id, 'claim', TALOS);
      clock.advance(seconds(after));
      await fail(h.handoff_id, 'storage_quota_exceeded'); // 20.0, 41.3, 5.0 (the last one while still pending)
    }
    for (const [task, limit, wait] of [['task-c', 10, 12], ['task-d', 15, 16]] as const) {
      const h = await toTalos(task, { claim_timeout: limit });
      clock.advance(seconds(wait));
      await svc.service.sweepNow();
      const timedOut = await api.ok('GET', `/v1/handoffs/${h.handoff_id}`, 'admin');
      assert.equal(timedOut.error?.code, 'handoff_claim_timeout'); // 12.0, 16.0
    }
    {
      const h = await toTalos('task-d', { completion_timeout: 60 });
      clock.advance(seconds(4));
      await api.act(h.handoff_id, 'claim', TALOS);
      clock.advance(seconds(61));
      await svc.service.sweepNow();
      assert.equal((await api.ok('GET', `/v1/handoffs/${h.handoff_id}`, 'admin')).error?.code, 'handoff_completion_timeout'); // 65.0
    }
    const run = await api.startRun('metrics-flow'); // talos takes part (listed in contractors)
    {
      const h = await toTalos('task-r', { run_id: run.run_id });
      clock.advance(seconds(7.7));
      await api.act(h.handoff_id, 'cancel', INFRA, { reason: 'superseded' }); // 7.7, handoff_cancelled
    }
    await toTalos('task-e', { claim_timeout: null }); // never finishes: not in the averages

    // talos as the sender: its participation counts, the outcome belongs to the receiver.
    const sent = await api.handoff(TALOS, { from_contractor: TALOS, to_contractor: N8N, task_id: 'task-f' });
    clock.advance(seconds(100));
    await api.act(sent.handoff_id, 'fail', N8N, { error: { code: 'vm_creation_timeout', message: '' } });
    // Runs and handoffs talos is no party to.
    await api.startRun('solo-flow');
    await api.handoff(INFRA, { to_contractor: N8N, task_id: 'task-g' });

    const talos = await api.ok('GET', `/v1/metrics/contractors/${TALOS}`, TALOS);
    // Distinct: task-a, task-b, task-c, task-d, the run (task-r is inside it), task-e, task-f.
    assert.equal(talos.workflows_participated, 7);
    // (30 + 52.4 + 20 + 41.3 + 5 + 12 + 16 + 65 + 7.7) / 9 = 27.71 s → "28s".
    assert.equal(talos.avg_handoff_time, '28s');
    // 7 of 9 finished handoffs failed: 0.7778 → 0.778.
    assert.equal(talos.error_rate, 0.778);
    assert.deepEqual(talos.common_errors, [
      { error: 'storage_quota_exceeded', count: 3 },
      { error: 'handoff_claim_timeout', count: 2 },
      { error: 'handoff_cancelled', count: 1 },
      { error: 'handoff_completion_timeout', count: 1 },
    ]);

    const n8n = await api.ok('GET', `/v1/metrics/contractors/${N8N}`, 'admin');
    // task-f, the solo-flow run, task-g.
    assert.deepEqual(n8n, {
      contractor: N8N,
      workflows_participated: 3,
      avg_handoff_time: '100s',
      error_rate: 1,
      common_errors: [{ error: 'vm_creation_timeout', count: 1 }],
    });
    const infra = await api.ok('GET', `/v1/metrics/contractors/${INFRA}`, 'admin');
    // infra receives nothing: no handoff time, no errors; it was party to every task but task-f, and to the run.
    assert.deepEqual(infra, {
      contractor: INFRA,
      workflows_participated: 7,
      avg_handoff_time: null,
      error_rate: 0,
      common_errors: [],
    });
    const stranger = await api.ok('GET', '/v1/metrics/contractors/security-master', 'admin');
    assert.deepEqual(stranger, { contractor: 'security-master', workflows_participated: 0, avg_handoff_time: null, error_rate: 0, common_errors: [] });
    const list = await api.ok('GET', '/v1/metrics/contractors', 'admin');
    assert.deepEqual(list.items.map((item: any) => item.contractor), [INFRA, N8N, TALOS]);
  });
});

// ---------------------------------------------------------------- Prometheus

describe('Prometheus counters', () => {
  let svc: TestService;
  let clock: FakeClock;
  let api: ReturnType<typeof client>;
  let receiver: Server;
  const hits: Record<string, number> = {};
  before(async () => {
    receiver = createServer((req, res) => {
      hits[req.url ?? ''] = (hits[req.url ?? ''] ?? 0) + 1;
      req.resume();
      req.on('end', () => {
        res.statusCode = req.url === '/ok' ? 204 : req.url === '/gone' ? 410 : 500;
        res.end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    clock = fakeClock();
    svc = await startTestService({}, { clock });
    api = client(svc);
  });
  after(async () => {
    await svc.stop();
    receiver.closeAllConnections();
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
  });

  test('transitions, timeouts, run durations and callback deliveries count what was done', async () => {
    const base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
    const subscribe = (path: string, events: string[]) => api.ok('POST', '/v1/subscriptions', 'admin', { url: `${base}${path}`, events }, 201);
    await subscribe('/ok', ['handoff.created']);
    await subscribe('/gone', ['handoff.completed']);
    await subscribe('/fail', ['run.failed']);
    await api.ok('POST', '/v1/definitions', 'admin', {
      workflow_id: 'prom-flow',
      workflow_name: 'Prom',
      version: '1.0.0',
      contractors: [INFRA, TALOS],
      phases: [
        { phase_id: 'slow', contractor: INFRA, timeout: 30, actions: [{ action_id: 'clone', action: 'clone_vm' }] },
        { phase_id: 'best-effort', contractor: TALOS, timeout: 600, actions: [{ action_id: 'tidy', action: 'notify', timeout: 20, on_error: 'continue' }] },
      ],
    }, 201);

    // Handoffs: 6 created, 4 claimed, 1 completed, 5 failed (fail, cancel, three timeouts).
    const a = await api.handoff(INFRA, {});
    await api.act(a.handoff_id, 'claim', TALOS);
    await api.act(a.handoff_id, 'complete', TALOS);
    const again = await svc.call('POST', `/v1/handoffs/${a.handoff_id}/complete`, { as: TALOS, body: {} });
    assert.equal(again.status, 409); // refused: counts nothing
    const b = await api.handoff(INFRA, {});
    await api.act(b.handoff_id, 'claim', TALOS);
    await api.act(b.handoff_id, 'fail', TALOS, { error: { code: 'boom', message: '' } });
    const c = await api.handoff(INFRA, {});
    await api.act(c.handoff_id, 'cancel', INFRA, {});
    const d = await api.handoff(INFRA, { claim_timeout: 10 });
    clock.advance(11_000);
    await svc.service.sweepNow();
    const e = await api.handoff(INFRA, { completion_timeout: 20 });
    await api.act(e.handoff_id, 'claim', TALOS);
    clock.advance(21_000);
    await svc.service.sweepNow();
    const f = await api.handoff(INFRA, { heartbeat_timeout: 5 });
    await api.act(f.handoff_id, 'claim', TALOS);
    for (let i = 0; i < 3; i++) {
      clock.advance(3_000);
      await svc.service.sweepNow();
      await api.act(f.handoff_id, 'heartbeat', TALOS, { progress: { step: i } }); // not a transition
    }
    clock.advance(6_000);
    await svc.service.sweepNow();
    for (const [h, code] of [[d, 'handoff_claim_timeout'], [e, 'handoff_completion_timeout'], [f, 'handoff_heartbeat_timeout']] as const) {
      assert.equal((await api.ok('GET', `/v1/handoffs/${h.handoff_id}`, 'admin')).error?.code, code);
    }

    // Runs: one fails on its phase deadline after 31 s; one survives an action deadline and completes after 45 s;
    // a dry run completes too.
    const r1 = await api.startRun('prom-flow');
    await api.ok('POST', `/v1/runs/${r1.run_id}/phases/slow/start`, INFRA);
    clock.advance(31_000);
    await svc.service.sweepNow();
    const r2 = await api.startRun('prom-flow');
    await api.ok('POST', `/v1/runs/${r2.run_id}/phases/best-effort/start`, TALOS);
    await api.ok('POST', `/v1/runs/${r2.run_id}/phases/best-effort/actions/tidy/start`, TALOS);
    clock.advance(25_000);
    await svc.service.sweepNow();
    clock.advance(20_000);
    await api.ok('POST', `/v1/runs/${r2.run_id}/phases/best-effort/complete`, TALOS);
    await api.ok('POST', `/v1/runs/${r2.run_id}/complete`, 'admin');
    const r3 = await api.startRun('prom-flow', { dry_run: true });
    clock.advance(5_000);
    await api.ok('POST', `/v1/runs/${r3.run_id}/complete`, 'admin');
    assert.equal((await api.ok('GET', `/v1/runs/${r1.run_id}`, 'admin')).error?.code, 'phase_timeout');

    // Callbacks: 6 handoff.created to /ok, 1 handoff.completed to /gone, 1 run.failed to /fail,
    // which is retried until it is given up after 12 attempts.
    await svc.service.relayNow();
    for (let attempt = 2; attempt <= 12; attempt++) {
      clock.advance(2 * 3_600_000); // past any backoff (at most 1 h)
      await svc.service.relayNow();
    }
    clock.advance(2 * 3_600_000);
    await svc.service.relayNow(); // nothing left to try
    assert.deepEqual(hits, { '/ok': 6, '/gone': 1, '/fail': 12 });

    const text = await api.prometheus();
    const transitions = (status: string) => sample(text, 'cortex_handoff_transitions_total', { status });
    assert.deepEqual(
      { pending: transitions('pending'), in_progress: transitions('in_progress'), completed: transitions('completed'), failed: transitions('failed') },
      { pending: 6, in_progress: 4, completed: 1, failed: 5 },
    );
    const timeouts = (kind: string) => sample(text, 'cortex_timeouts_fired_total', { kind });
    assert.deepEqual(
      { claim: timeouts('claim'), completion: timeouts('completion'), heartbeat: timeouts('heartbeat'), phase: timeouts('phase'), action: timeouts('action') },
      { claim: 1, completion: 1, heartbeat: 1, phase: 1, action: 1 },
    );
    const failedRun = { workflow_id: 'prom-flow', status: 'failed' };
    const completedRun = { workflow_id: 'prom-flow', status: 'completed' };
    assert.equal(sample(text, 'cortex_run_duration_seconds_count', failedRun), 1);
    assert.equal(sample(text, 'cortex_run_duration_seconds_sum', failedRun), 31);
    assert.equal(sample(text, 'cortex_run_duration_seconds_bucket', { ...failedRun, le: '30' }), 0);
    assert.equal(sample(text, 'cortex_run_duration_seconds_bucket', { ...failedRun, le: '60' }), 1);
    assert.equal(sample(text, 'cortex_run_duration_seconds_count', completedRun), 1, 'the dry run is not an execution');
    assert.equal(sample(text, 'cortex_run_duration_seconds_sum', completedRun), 45);
    const deliveries = (outcome: string) => sample(text, 'cortex_callback_deliveries_total', { outcome });
    assert.deepEqual(
      { delivered: deliveries('delivered'), gone: deliveries('gone'), retry: deliveries('retry'), dead: deliveries('dead') },
      { delivered: 6, gone: 1, retry: 11, dead: 1 },
    );
  });
});

// ---------------------------------------------------------------- histogram

/** mulberry32: a small seeded PRNG, so a failure can be replayed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('histogram', () => {
  const distributions: Record<string, (random: () => number) => number> = {
    // 1 ms to a day, evenly over the decades.
    'log-uniform': (random) => Math.round(Math.exp(random() * Math.log(86_400_000))),
    // Runs around the seed's 2845 s.
    'around 2845 s': (random) => Math.round(2_312_000 + random() * 1_309_000),
    // Two clusters: quick failures and long runs.
    bimodal: (random) => (random() < 0.3 ? Math.round(1_000 + random() * 9_000) : Math.round(3_000_000 + random() * 600_000)),
  };

  test('quantileFromBuckets is within 0.5 % of the exact nearest-rank quantile (q = 0.5, 0.95, 0.99)', () => {
    let checks = 0;
    for (const [name, draw] of Object.entries(distributions)) {
      for (const [seed, n] of [[1, 1], [2, 7], [3, 21], [4, 200], [5, 1000], [6, 5000]] as const) {
        const random = prng(seed * 7919 + name.length);
        const values = Array.from({ length: n }, () => Math.max(1, draw(random)));
        const buckets = new Map<number, number>();
        for (const value of values) buckets.set(bucketOf(value), (buckets.get(bucketOf(value)) ?? 0) + 1);
        const sorted = [...values].sort((x, y) => x - y);
        for (const q of [0.5, 0.95, 0.99]) {
          const exact = sorted[Math.ceil(q * n) - 1]!;
          const got = quantileFromBuckets(buckets, q, sorted[0]!, sorted[n - 1]!);
          assert.ok(got !== null);
          const where = `${name}, seed ${seed}, n ${n}, q ${q}: exact ${exact}, got ${got}`;
          // Never below the exact value (the bucket's upper bound), at most 0.5 % above it.
          assert.ok(got >= exact * (1 - 1e-12), where);
          assert.ok(got <= exact * 1.005 * (1 + 1e-12), where);
          checks++;
        }
      }
    }
    assert.equal(checks, 3 * 6 * 3);
  });

  test('no data: null; one value: that value', () => {
    assert.equal(quantileFromBuckets(new Map(), 0.95, 0, 0), null);
    assert.equal(quantileFromBuckets(new Map([[bucketOf(2_845_000), 1]]), 0.95, 2_845_000, 2_845_000), 2_845_000);
  });
});
