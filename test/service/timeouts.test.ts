// Deadlines fire: handoff claim / completion / heartbeat timeouts, heartbeats re-arming
// the heartbeat deadline, deadlines overdue while the service was down firing once
// right after start, and run phase / action timeouts with their on_error. Real time
// throughout (fractional handoff timeouts keep it short); sweep interval 50 ms.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, handoffBody, startTestService, type TestService } from './harness.ts';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const ms = (iso: string): number => Date.parse(iso);

/** The value of one Prometheus sample (0 when the series is absent). */
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

async function prometheus(svc: TestService): Promise<string> {
  const reply = await svc.call('GET', '/metrics', { as: null });
  assert.equal(reply.status, 200);
  return reply.text;
}

async function createHandoff(svc: TestService, overrides: Record<string, unknown>) {
  const reply = await svc.call('POST', '/v1/handoffs', { as: 'infrastructure-contractor', body: handoffBody(overrides) });
  assert.equal(reply.status, 201, reply.text);
  return reply.body;
}

async function claim(svc: TestService, id: string) {
  const reply = await svc.call('POST', `/v1/handoffs/${id}/claim`, { as: 'talos-contractor' });
  assert.equal(reply.status, 200, reply.text);
  return reply.body;
}

async function getHandoff(svc: TestService, id: string) {
  const reply = await svc.call('GET', `/v1/handoffs/${id}`);
  assert.equal(reply.status, 200, reply.text);
  return reply.body;
}

async function eventTypes(svc: TestService, id: string): Promise<string[]> {
  const reply = await svc.call('GET', `/v1/handoffs/${id}/events`);
  assert.equal(reply.status, 200, reply.text);
  return reply.body.items.map((event: { type: string }) => event.type);
}

/** Waits until the handoff has left `status`, then returns it. */
function waitUntilNot(svc: TestService, id: string, status: string, timeoutMs = 3000) {
  return eventually(async () => {
    const handoff = await getHandoff(svc, id);
    return handoff.status !== status ? handoff : null;
  }, timeoutMs, 20);
}

describe('handoff deadlines', () => {
  let svc: TestService;
  before(async () => {
    svc = await startTestService();
  });
  after(async () => {
    await svc.stop();
  });

  test('claim_timeout: a handoff left pending fails with handoff_claim_timeout, once', async () => {
    const created = await createHandoff(svc, { claim_timeout: 0.3 });
    assert.equal(created.claim_timeout, 0.3);
    assert.equal(ms(created.claim_deadline) - ms(created.created_at), 300);
    await sleep(120);
    assert.equal((await getHandoff(svc, created.handoff_id)).status, 'pending', 'must not fire before its deadline');

    const failed = await waitUntilNot(svc, created.handoff_id, 'pending');
    assert.equal(failed.status, 'failed');
    assert.equal(failed.error.code, 'handoff_claim_timeout');
    assert.equal(failed.claimed_at, null);
    const late = ms(failed.finished_at) - ms(failed.created_at);
    assert.ok(late >= 300, `fired ${late} ms after creation, before the 300 ms deadline`);
    assert.ok(late < 1500, `fired ${late} ms after creation: the sweeper should wake at the deadline`);

    await sleep(200); // further sweeps must not fire it again
    assert.deepEqual(await eventTypes(svc, created.handoff_id), ['handoff.created', 'handoff.timed_out']);
    const events = (await svc.call('GET', `/v1/handoffs/${created.handoff_id}/events`)).body.items;
    assert.equal(events[1].actor, 'cortex');
    assert.equal(events[1].data.error.code, 'handoff_claim_timeout');
    assert.equal(events[1].data.status, 'failed');
  });

  test('a claim in time clears the claim deadline', async () => {
    const created = await createHandoff(svc, { claim_timeout: 0.3 });
    await claim(svc, created.handoff_id);
    await sleep(600);
    const handoff = await getHandoff(svc, created.handoff_id);
    assert.equal(handoff.status, 'in_progress');
    assert.equal(handoff.error, null);
    assert.deepEqual(await eventTypes(svc, created.handoff_id), ['handoff.created', 'handoff.claimed']);
  });

  test('completion_timeout: claimed but not completed fails with handoff_completion_timeout; heartbeats do not extend it', async () => {
    const created = await createHandoff(svc, { claim_timeout: 30, completion_timeout: 0.4 });
    const claimed = await claim(svc, created.handoff_id);
    assert.equal(ms(claimed.completion_deadline) - ms(claimed.claimed_at), 400);
    // Heartbeats keep coming, but the completion deadline counts from the claim.
    let failed: any = null;
    const started = Date.now();
    while (Date.now() - started < 3000) {
      const beat = await svc.call('POST', `/v1/handoffs/${created.handoff_id}/heartbeat`, { as: 'talos-contractor', body: { progress: { pct: 10 } } });
      if (beat.status === 409) {
        failed = await getHandoff(svc, created.handoff_id);
        break;
      }
      assert.equal(beat.status, 200, beat.text);
      await sleep(80);
    }
    assert.ok(failed, 'the completion deadline never fired');
    assert.equal(failed.status, 'failed');
    assert.equal(failed.error.code, 'handoff_completion_timeout');
    const late = ms(failed.finished_at) - ms(failed.claimed_at);
    assert.ok(late >= 400 && late < 1500, `fired ${late} ms after the claim (deadline 400 ms)`);
    const types = await eventTypes(svc, created.handoff_id);
    assert.deepEqual(types, ['handoff.created', 'handoff.claimed', 'handoff.timed_out']);
  });

  test('heartbeat_timeout: heartbeats keep it alive over several periods; when they stop it fails with handoff_heartbeat_timeout', async () => {
    const before = await prometheus(svc);
    const created = await createHandoff(svc, { heartbeat_timeout: 0.3 });
    const claimed = await claim(svc, created.handoff_id);
    assert.equal(ms(claimed.heartbeat_deadline) - ms(claimed.claimed_at), 300);

    // 1.2 s of heartbeats every ~80 ms: four heartbeat periods, each one re-arming the deadline.
    const claimedAt = Date.now();
    let lastBeat = claimed;
    while (Date.now() - claimedAt < 1200) {
      await sleep(80);
      const beat = await svc.call('POST', `/v1/handoffs/${created.handoff_id}/heartbeat`, { as: 'talos-contractor', body: {} });
      assert.equal(beat.status, 200, `heartbeat refused after ${Date.now() - claimedAt} ms: ${beat.text}`);
      assert.equal(beat.body.status, 'in_progress');
      assert.equal(ms(beat.body.heartbeat_deadline) - ms(beat.body.last_heartbeat_at), 300);
      assert.ok(ms(beat.body.heartbeat_deadline) > ms(lastBeat.heartbeat_deadline), 'a heartbeat moves the deadline on');
      lastBeat = beat.body;
    }
    assert.equal((await getHandoff(svc, created.handoff_id)).status, 'in_progress', 'alive while heartbeats came');

    const failed = await waitUntilNot(svc, created.handoff_id, 'in_progress');
    assert.equal(failed.status, 'failed');
    assert.equal(failed.error.code, 'handoff_heartbeat_timeout');
    const silence = ms(failed.finished_at) - ms(lastBeat.last_heartbeat_at);
    assert.ok(silence >= 300 && silence < 1500, `fired ${silence} ms after the last heartbeat (deadline 300 ms)`);
    assert.ok(ms(failed.finished_at) - ms(failed.claimed_at) >= 1200, 'it lived past several heartbeat periods');
    // Heartbeats write no history; the timeout writes exactly one event.
    assert.deepEqual(await eventTypes(svc, created.handoff_id), ['handoff.created', 'handoff.claimed', 'handoff.timed_out']);
    const after = await prometheus(svc);
    assert.equal(
      sample(after, 'cortex_timeouts_fired_total', { kind: 'heartbeat' }) - sample(before, 'cortex_timeouts_fired_total', { kind: 'heartbeat' }),
      1,
    );
  });

  test('a completed handoff never times out later', async () => {
    const before = await prometheus(svc);
    const created = await createHandoff(svc, { claim_timeout: 0.3, completion_timeout: 0.3, heartbeat_timeout: 0.3 });
    await claim(svc, created.handoff_id);
    const done = await svc.call('POST', `/v1/handoffs/${created.handoff_id}/complete`, { as: 'talos-contractor', body: { result: { ok: true } } });
    assert.equal(done.status, 200, done.text);
    assert.equal(done.body.completion_deadline, null);
    assert.equal(done.body.heartbeat_deadline, null);
    await sleep(800);
    await svc.service.sweepNow();
    const handoff = await getHandoff(svc, created.handoff_id);
    assert.equal(handoff.status, 'completed');
    assert.equal(handoff.error, null);
    assert.deepEqual(await eventTypes(svc, created.handoff_id), ['handoff.created', 'handoff.claimed', 'handoff.completed']);
    const after = await prometheus(svc);
    for (const kind of ['claim', 'completion', 'heartbeat']) {
      assert.equal(sample(after, 'cortex_timeouts_fired_total', { kind }), sample(before, 'cortex_timeouts_fired_total', { kind }), kind);
    }
  });

  test('a failed handoff does not time out afterwards either', async () => {
    const created = await createHandoff(svc, { claim_timeout: 0.3 });
    const failed = await svc.call('POST', `/v1/handoffs/${created.handoff_id}/fail`, {
      as: 'talos-contractor',
      body: { error: { code: 'storage_quota_exceeded', message: 'no space' } },
    });
    assert.equal(failed.status, 200, failed.text);
    await sleep(600);
    const handoff = await getHandoff(svc, created.handoff_id);
    assert.equal(handoff.error.code, 'storage_quota_exceeded');
    assert.deepEqual(await eventTypes(svc, created.handoff_id), ['handoff.created', 'handoff.failed']);
  });

  test('completion and heartbeat deadlines due together: exactly one fires', async () => {
    const before = await prometheus(svc);
    const created = await createHandoff(svc, { completion_timeout: 0.3, heartbeat_timeout: 0.3 });
    await claim(svc, created.handoff_id);
    const failed = await waitUntilNot(svc, created.handoff_id, 'in_progress');
    assert.ok(['handoff_completion_timeout', 'handoff_heartbeat_timeout'].includes(failed.error.code), failed.error.code);
    await sleep(300);
    await svc.service.sweepNow();
    const types = await eventTypes(svc, created.handoff_id);
    assert.equal(types.filter((type) => type === 'handoff.timed_out').length, 1, types.join(','));
    const after = await prometheus(svc);
    const fired = (['completion', 'heartbeat'] as const).reduce(
      (sum, kind) => sum + sample(after, 'cortex_timeouts_fired_total', { kind }) - sample(before, 'cortex_timeouts_fired_total', { kind }),
      0,
    );
    assert.equal(fired, 1);
    assert.equal((await getHandoff(svc, created.handoff_id)).version, 3, 'created, claimed, timed out: three versions');
  });
});

test('deadlines that passed while the service was down fire right after start, exactly once', async () => {
  const svc = await startTestService();
  try {
    const pendingA = await createHandoff(svc, { claim_timeout: 1.5 });
    const pendingB = await createHandoff(svc, { claim_timeout: 1.5, task_id: 'task-2' });
    const working = await createHandoff(svc, { completion_timeout: 1.5, task_id: 'task-3' });
    const beating = await createHandoff(svc, { heartbeat_timeout: 1.5, task_id: 'task-4' });
    const notYet = await createHandoff(svc, { claim_timeout: 60, task_id: 'task-5' });
    await claim(svc, working.handoff_id);
    await claim(svc, beating.handoff_id);
    for (const h of [pendingA, pendingB]) assert.equal((await getHandoff(svc, h.handoff_id)).status, 'pending');
    for (const h of [working, beating]) assert.equal((await getHandoff(svc, h.handoff_id)).status, 'in_progress');

    await svc.service.stop();
    const stoppedAt = Date.now();
    await sleep(1700); // every short deadline passes while nothing runs
    // (1.5 s deadlines leave the set-up above time to finish on a loaded machine)
    await svc.restart();
    const restartedAt = Date.now();

    const expected = new Map([
      [pendingA.handoff_id, 'handoff_claim_timeout'],
      [pendingB.handoff_id, 'handoff_claim_timeout'],
      [working.handoff_id, 'handoff_completion_timeout'],
      [beating.handoff_id, 'handoff_heartbeat_timeout'],
    ]);
    for (const [id, code] of expected) {
      const failed = await waitUntilNot(svc, id, (await getHandoff(svc, id)).status === 'pending' ? 'pending' : 'in_progress', 1500);
      assert.equal(failed.status, 'failed');
      assert.equal(failed.error.code, code);
      const firedAt = ms(failed.finished_at);
      assert.ok(firedAt >= stoppedAt, 'fired after the stop, not before it');
      assert.ok(firedAt - restartedAt < 1000, `fired ${firedAt - restartedAt} ms after start`);
    }
    await sleep(250);
    await svc.service.sweepNow();
    for (const id of expected.keys()) {
      const types = await eventTypes(svc, id);
      assert.equal(types.filter((type) => type === 'handoff.timed_out').length, 1, `${id}: ${types.join(',')}`);
    }
    assert.equal((await getHandoff(svc, notYet.handoff_id)).status, 'pending', 'a deadline not yet due does not fire');
    const text = await prometheus(svc);
    assert.equal(sample(text, 'cortex_timeouts_fired_total', { kind: 'claim' }), 2);
    assert.equal(sample(text, 'cortex_timeouts_fired_total', { kind: 'completion' }), 1);
    assert.equal(sample(text, 'cortex_timeouts_fired_total', { kind: 'heartbeat' }), 1);
    assert.equal(await svc.service.store.countTimers(), 1, 'only the 60 s claim deadline is left');
  } finally {
    await svc.stop();
  }
});

// ---------------------------------------------------------------- runs

const TIMEOUT_FLOW = {
  workflow_id: 'timeout-flow',
  workflow_name: 'Timeout flow',
  version: '1.0.0',
  contractors: ['infrastructure-contractor', 'talos-contractor', 'n8n-contractor'],
  phases: [
    {
      phase_id: 'prepare',
      contractor: 'infrastructure-contractor',
      actions: [{ action_id: 'check', action: 'check_capacity' }],
      rollback: [{ action_id: 'undo-prepare', action: 'delete_vm' }],
    },
    {
      phase_id: 'slow',
      contractor: 'talos-contractor',
      timeout: 1,
      actions: [{ action_id: 'install', action: 'helm_release' }],
      rollback: [{ action_id: 'undo-slow', action: 'helm_uninstall' }],
    },
    {
      phase_id: 'wire',
      contractor: 'n8n-contractor',
      timeout: 60,
      actions: [
        { action_id: 'optional-step', action: 'send_test_alert', timeout: 1, on_error: 'continue' },
        { action_id: 'critical-step', action: 'verify_endpoints', timeout: 1, on_error: 'fail' },
      ],
    },
  ],
  rollback_procedure: { phases: ['wire-rollback', 'slow-rollback', 'prepare-rollback'] },
};

describe('run deadlines', () => {
  let svc: TestService;
  before(async () => {
    svc = await startTestService();
    const stored = await svc.call('POST', '/v1/definitions', { body: TIMEOUT_FLOW });
    assert.equal(stored.status, 201, stored.text);
  });
  after(async () => {
    await svc.stop();
  });

  const startRun = async () => {
    const reply = await svc.call('POST', '/v1/runs', { as: 'n8n-contractor', body: { workflow_id: 'timeout-flow' } });
    assert.equal(reply.status, 201, reply.text);
    return reply.body.run_id as string;
  };
  const post = async (path: string, as: 'infrastructure-contractor' | 'talos-contractor' | 'n8n-contractor', body: unknown = {}) => {
    const reply = await svc.call('POST', path, { as, body });
    assert.equal(reply.status, 200, `${path}: ${reply.text}`);
    return reply.body;
  };
  const getRun = async (id: string) => (await svc.call('GET', `/v1/runs/${id}`)).body;
  const runEvents = async (id: string) => (await svc.call('GET', `/v1/runs/${id}/events`)).body.items as { type: string; data: any; actor: string }[];

  test('a phase timeout fails the run with phase_timeout and produces a rollback plan', async () => {
    const before = await prometheus(svc);
    const id = await startRun();
    await post(`/v1/runs/${id}/phases/prepare/start`, 'infrastructure-contractor');
    await post(`/v1/runs/${id}/phases/prepare/complete`, 'infrastructure-contractor', { output: { vm_ids: [1] } });
    const started = await post(`/v1/runs/${id}/phases/slow/start`, 'talos-contractor');
    await post(`/v1/runs/${id}/phases/slow/actions/install/start`, 'talos-contractor');
    await sleep(500);
    assert.equal((await getRun(id)).status, 'running', 'not before the 1 s deadline');

    const run = await eventually(async () => {
      const current = await getRun(id);
      return current.status !== 'running' ? current : null;
    }, 3000, 20);
    assert.equal(run.status, 'failed');
    assert.equal(run.error.code, 'phase_timeout');
    const slow = run.phases.find((phase: any) => phase.phase_id === 'slow');
    assert.equal(slow.status, 'failed');
    assert.equal(slow.error.code, 'phase_timeout');
    assert.equal(slow.actions[0].status, 'failed', 'the action in flight fails with its phase');
    const late = ms(slow.finished_at) - ms(started.phases[1].started_at);
    assert.ok(late >= 1000 && late < 2500, `fired ${late} ms after the phase started (deadline 1 s)`);
    assert.equal(run.phases[0].status, 'completed');
    assert.equal(run.phases[2].status, 'pending');

    // Only started phases are undone, in the order of rollback_procedure.
    assert.deepEqual(
      run.rollback.steps.map((step: any) => [step.step_id, step.contractor, step.status]),
      [
        ['slow-rollback', 'talos-contractor', 'pending'],
        ['prepare-rollback', 'infrastructure-contractor', 'pending'],
      ],
    );
    assert.equal(run.rollback.status, 'pending');
    assert.deepEqual(run.rollback.steps[0].actions.map((a: any) => a.action_id), ['undo-slow']);

    const types = (await runEvents(id)).map((event) => event.type);
    assert.deepEqual(types.slice(-2), ['phase.failed', 'run.failed']);
    assert.equal(types.filter((type) => type === 'run.failed').length, 1);
    const after = await prometheus(svc);
    assert.equal(sample(after, 'cortex_timeouts_fired_total', { kind: 'phase' }) - sample(before, 'cortex_timeouts_fired_total', { kind: 'phase' }), 1);
  });

  test("an action timeout with on_error 'continue' fails the action but the run goes on", async () => {
    const id = await startRun();
    await post(`/v1/runs/${id}/phases/wire/start`, 'n8n-contractor');
    const started = await post(`/v1/runs/${id}/phases/wire/actions/optional-step/start`, 'n8n-contractor');
    const action = await eventually(async () => {
      const current = await getRun(id);
      const entry = current.phases[2].actions.find((a: any) => a.action_id === 'optional-step');
      return entry.status !== 'in_progress' ? { run: current, entry } : null;
    }, 3000, 20);
    assert.equal(action.entry.status, 'failed');
    assert.equal(action.entry.error.code, 'action_timeout');
    const late = ms(action.entry.finished_at) - ms(started.phases[2].actions[0].started_at);
    assert.ok(late >= 1000 && late < 2500, `fired ${late} ms after the action started`);
    assert.equal(action.run.status, 'running');
    assert.equal(action.run.phases[2].status, 'in_progress');
    assert.equal(action.run.error, null);
    assert.equal(action.run.rollback, null);
    const failedEvents = (await runEvents(id)).filter((event) => event.type === 'action.failed');
    assert.equal(failedEvents.length, 1);
    assert.equal(failedEvents[0]!.data.on_error, 'continue');
    assert.equal(failedEvents[0]!.data.error.code, 'action_timeout');
    assert.equal(failedEvents[0]!.actor, 'cortex');

    // The run really goes on: the phase and the run complete.
    await post(`/v1/runs/${id}/phases/wire/complete`, 'n8n-contractor');
    const done = await post(`/v1/runs/${id}/complete`, 'n8n-contractor');
    assert.equal(done.status, 'completed');
  });

  test("an action timeout with on_error 'fail' fails the run without a rollback plan", async () => {
    const id = await startRun();
    await post(`/v1/runs/${id}/phases/prepare/start`, 'infrastructure-contractor');
    await post(`/v1/runs/${id}/phases/prepare/complete`, 'infrastructure-contractor');
    await post(`/v1/runs/${id}/phases/wire/start`, 'n8n-contractor');
    await post(`/v1/runs/${id}/phases/wire/actions/critical-step/start`, 'n8n-contractor');
    const run = await eventually(async () => {
      const current = await getRun(id);
      return current.status !== 'running' ? current : null;
    }, 3000, 20);
    assert.equal(run.status, 'failed');
    assert.equal(run.error.code, 'action_timeout');
    assert.equal(run.rollback, null);
    assert.equal(run.phases[2].status, 'failed');
    assert.equal(run.phases[2].actions[0].error.code, 'action_timeout');
    const plan = await svc.call('GET', `/v1/runs/${id}/rollback`);
    assert.equal(plan.status, 404);
    assert.equal(plan.body.error.code, 'no_rollback_plan');
    const types = (await runEvents(id)).map((event) => event.type);
    assert.deepEqual(types.slice(-3), ['action.failed', 'phase.failed', 'run.failed']);
  });
});
