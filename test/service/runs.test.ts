// Workflow definitions and runs over HTTP: storing definitions, a run's phases and
// actions, completing and failing, concurrency keys, the rollback plan and its steps,
// listing, history and who may change what.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { DEFINITIONS_DIR } from '../../service/src/domain/definitions.ts';
import { startTestService, type ContractorName, type TestService } from './harness.ts';

type Who = ContractorName | 'admin';

const TEMPLATE_FILES = readdirSync(DEFINITIONS_DIR).filter((name) => name.endsWith('.json') && !name.includes('schema'));
const template = (id: string): any => JSON.parse(readFileSync(join(DEFINITIONS_DIR, `${id}.json`), 'utf8'));

const INFRA = 'infrastructure-contractor';
const TALOS = 'talos-contractor';
const N8N = 'n8n-contractor';
const SECURITY = 'security-master';

/**
 * A definition whose rollback_procedure is not the reverse phase order, mixes the
 * "<phase>-rollback" and bare phase_id spellings and leaves one phase (stage) out.
 */
const ROLLOUT = {
  workflow_id: 'rollout-flow',
  workflow_name: 'Rollout flow',
  version: '1.0.0',
  contractors: [INFRA, TALOS, N8N],
  phases: [
    { phase_id: 'stage', contractor: INFRA, actions: [{ action_id: 'stage-artifacts', action: 'upload_file' }] },
    {
      phase_id: 'provision',
      contractor: INFRA,
      actions: [
        { action_id: 'clone', action: 'clone_vm', on_error: 'rollback' },
        { action_id: 'tag', action: 'configure_vm', on_error: 'continue' },
        { action_id: 'precheck', action: 'check_capacity', on_error: 'fail' },
      ],
      rollback: [{ action_id: 'deprovision', action: 'delete_vm' }],
    },
    {
      phase_id: 'configure',
      contractor: TALOS,
      actions: [{ action_id: 'apply', action: 'apply_configuration' }],
      rollback: [{ action_id: 'unconfigure', action: 'reset_node' }],
    },
    {
      phase_id: 'integrate',
      contractor: N8N,
      actions: [{ action_id: 'register', action: 'register_monitoring' }],
      rollback: [{ action_id: 'unregister', action: 'unregister_monitoring' }],
    },
    { phase_id: 'verify', contractor: N8N, actions: [{ action_id: 'probe', action: 'verify_endpoints' }] },
  ],
  rollback_procedure: { phases: ['provision', 'integrate-rollback', 'configure-rollback', 'verify-rollback'] },
};

describe('definitions', () => {
  let svc: TestService;
  before(async () => {
    svc = await startTestService();
  });
  after(async () => {
    await svc.stop();
  });

  test('the five shipped templates store with 201, the same again with 200', async () => {
    assert.equal(TEMPLATE_FILES.length, 5, TEMPLATE_FILES.join(', '));
    for (const file of TEMPLATE_FILES) {
      const body = JSON.parse(readFileSync(join(DEFINITIONS_DIR, file), 'utf8'));
      const first = await svc.call('POST', '/v1/definitions', { body });
      assert.equal(first.status, 201, `${file}: ${first.text}`);
      assert.deepEqual(first.body, body);
      const again = await svc.call('POST', '/v1/definitions', { body });
      assert.equal(again.status, 200, `${file} again: ${again.text}`);
      const stored = await svc.call('GET', `/v1/definitions/${body.workflow_id}`, { as: TALOS });
      assert.equal(stored.status, 200);
      assert.deepEqual(stored.body, body);
    }
    const list = await svc.call('GET', '/v1/definitions');
    assert.deepEqual(
      list.body.items.map((item: any) => `${item.workflow_id}@${item.version}`).sort(),
      TEMPLATE_FILES.map((file) => `${file.replace(/\.json$/, '')}@1.0.0`).sort(),
    );
  });

  test('the same workflow_id and version with other content is a 409; the stored one is kept', async () => {
    const changed = template('dr-failover');
    changed.workflow_name = 'DR failover, edited';
    const reply = await svc.call('POST', '/v1/definitions', { body: changed });
    assert.equal(reply.status, 409, reply.text);
    assert.equal(reply.body.error.code, 'already_exists');
    const stored = await svc.call('GET', '/v1/definitions/dr-failover');
    assert.equal(stored.body.workflow_name, template('dr-failover').workflow_name);

    // A new version is a new definition; the latest is served by default.
    changed.version = '1.1.0';
    assert.equal((await svc.call('POST', '/v1/definitions', { body: changed })).status, 201);
    assert.equal((await svc.call('GET', '/v1/definitions/dr-failover')).body.version, '1.1.0');
    const old = await svc.call('GET', '/v1/definitions/dr-failover/versions/1.0.0');
    assert.equal(old.body.workflow_name, template('dr-failover').workflow_name);
  });

  test('an invalid definition is a 422 whose details name each JSON path', async () => {
    const bad = template('deploy-monitoring-stack');
    delete bad.workflow_name;
    bad.phases[0].actions[0].timeout = 1.5;
    bad.phases[1].contractor = 'ghost-contractor';
    bad.phases[2].timout = 5;
    bad.rollback_procedure.phases.push('nowhere-rollback');
    bad.version = '2.0.0';
    const reply = await svc.call('POST', '/v1/definitions', { body: bad });
    assert.equal(reply.status, 422, reply.text);
    assert.equal(reply.body.error.code, 'definition_invalid');
    assert.deepEqual(reply.body.error.details.map((d: any) => d.path).sort(), [
      '/phases/0/actions/0/timeout',
      '/phases/1/contractor',
      '/phases/2/timout',
      '/rollback_procedure/phases/3',
      '/workflow_name',
    ]);
    const timeout = reply.body.error.details.find((d: any) => d.path === '/phases/0/actions/0/timeout');
    assert.equal(timeout.message, 'must be integer');
    assert.equal((await svc.call('GET', '/v1/definitions/deploy-monitoring-stack/versions/2.0.0')).status, 404);
  });
});

describe('runs', () => {
  let svc: TestService;
  before(async () => {
    svc = await startTestService();
    for (const body of [template('deploy-monitoring-stack'), template('security-incident-response'), ROLLOUT]) {
      const reply = await svc.call('POST', '/v1/definitions', { body });
      assert.equal(reply.status, 201, reply.text);
    }
  });
  after(async () => {
    await svc.stop();
  });

  const start = async (workflow_id: string, as: Who = N8N, extra: Record<string, unknown> = {}) => {
    const reply = await svc.call('POST', '/v1/runs', { as, body: { workflow_id, ...extra } });
    assert.equal(reply.status, 201, reply.text);
    return reply.body;
  };
  /** POST that must succeed; returns the run. */
  const ok = async (path: string, as: Who, body: unknown = {}) => {
    const reply = await svc.call('POST', path, { as, body });
    assert.equal(reply.status, 200, `${path} as ${as}: ${reply.text}`);
    return reply.body;
  };
  /** POST that must be refused with this status and code. */
  const refused = async (path: string, as: Who, status: number, code: string, body: unknown = {}) => {
    const reply = await svc.call('POST', path, { as, body });
    assert.equal(reply.status, status, `${path} as ${as}: ${reply.text}`);
    assert.equal(reply.body.error.code, code, reply.text);
    return reply.body;
  };
  const runPhase = async (id: string, phase: string, as: Who, output?: Record<string, unknown>) => {
    await ok(`/v1/runs/${id}/phases/${phase}/start`, as);
    return ok(`/v1/runs/${id}/phases/${phase}/complete`, as, output ? { output } : {});
  };
  const getRun = async (id: string) => {
    const reply = await svc.call('GET', `/v1/runs/${id}`);
    assert.equal(reply.status, 200, reply.text);
    return reply.body;
  };
  const events = async (id: string) => {
    const reply = await svc.call('GET', `/v1/runs/${id}/events`);
    assert.equal(reply.status, 200, reply.text);
    return reply.body.items as { seq: number; type: string; actor: string; data: any }[];
  };

  test('a run goes through its phases and actions to completed, and its history says so', async () => {
    const run = await start('deploy-monitoring-stack', N8N, { parameters: { cluster_name: 'prod-k8s-01', environment: 'production' } });
    const id = run.run_id;
    assert.equal(run.status, 'running');
    assert.equal(run.started_by, N8N);
    assert.equal(run.workflow_version, '1.0.0');
    assert.deepEqual(run.parameters, { cluster_name: 'prod-k8s-01', environment: 'production' });
    assert.deepEqual(
      run.phases.map((p: any) => [p.phase_id, p.contractor, p.status]),
      [
        ['provision-monitoring-nodes', INFRA, 'pending'],
        ['install-stack', TALOS, 'pending'],
        ['configure-alerting', N8N, 'pending'],
      ],
    );

    const p1 = 'provision-monitoring-nodes';
    const started = await ok(`/v1/runs/${id}/phases/${p1}/start`, INFRA);
    assert.equal(started.phases[0].status, 'in_progress');
    assert.equal(started.version, 2);
    await ok(`/v1/runs/${id}/phases/${p1}/actions/check-capacity/start`, INFRA);
    await refused(`/v1/runs/${id}/phases/${p1}/actions/check-capacity/start`, INFRA, 409, 'illegal_transition');
    await refused(`/v1/runs/${id}/phases/${p1}/complete`, INFRA, 409, 'illegal_transition'); // an action is in progress
    const acted = await ok(`/v1/runs/${id}/phases/${p1}/actions/check-capacity/complete`, INFRA);
    assert.equal(acted.phases[0].actions[0].status, 'completed');
    await refused(`/v1/runs/${id}/phases/${p1}/actions/check-capacity/complete`, INFRA, 409, 'illegal_transition');
    await refused(`/v1/runs/${id}/phases/${p1}/actions/no-such-action/start`, INFRA, 404, 'action_not_found');
    await refused(`/v1/runs/${id}/phases/no-such-phase/start`, 'admin', 404, 'phase_not_found');
    const completed = await ok(`/v1/runs/${id}/phases/${p1}/complete`, INFRA, { output: { vm_ids: [201, 202], node_ips: ['10.0.0.21'] } });
    assert.equal(completed.phases[0].status, 'completed');
    assert.deepEqual(completed.phases[0].output, { vm_ids: [201, 202], node_ips: ['10.0.0.21'] });
    await refused(`/v1/runs/${id}/phases/${p1}/start`, INFRA, 409, 'illegal_transition');

    await runPhase(id, 'install-stack', TALOS);
    await ok(`/v1/runs/${id}/phases/configure-alerting/start`, N8N);
    await refused(`/v1/runs/${id}/complete`, N8N, 409, 'illegal_transition'); // a phase is in progress
    await ok(`/v1/runs/${id}/phases/configure-alerting/complete`, N8N);
    const done = await ok(`/v1/runs/${id}/complete`, N8N);
    assert.equal(done.status, 'completed');
    assert.notEqual(done.finished_at, null);
    assert.equal(done.rollback, null);
    assert.deepEqual(done.phases.map((p: any) => p.status), ['completed', 'completed', 'completed']);
    await refused(`/v1/runs/${id}/complete`, N8N, 409, 'illegal_transition');
    await refused(`/v1/runs/${id}/fail`, N8N, 409, 'illegal_transition', { error: { code: 'late', message: '' } });

    const history = await events(id);
    assert.deepEqual(
      history.map((e) => [e.type, e.actor]),
      [
        ['run.started', N8N],
        ['phase.started', INFRA],
        ['action.started', INFRA],
        ['action.completed', INFRA],
        ['phase.completed', INFRA],
        ['phase.started', TALOS],
        ['phase.completed', TALOS],
        ['phase.started', N8N],
        ['phase.completed', N8N],
        ['run.completed', N8N],
      ],
    );
    assert.deepEqual(history[4]!.data.output, { vm_ids: [201, 202], node_ips: ['10.0.0.21'] });
    const seqs = history.map((e) => e.seq);
    assert.deepEqual([...seqs].sort((a, b) => a - b), seqs, 'oldest first');
    const page = await svc.call('GET', `/v1/runs/${id}/events?after=${seqs[7]}`);
    assert.deepEqual(page.body.items.map((e: any) => e.type), ['phase.completed', 'run.completed']);
  });

  test('completing a run skips the phases that never started', async () => {
    const run = await start('rollout-flow');
    await runPhase(run.run_id, 'stage', INFRA);
    const done = await ok(`/v1/runs/${run.run_id}/complete`, N8N);
    assert.deepEqual(done.phases.map((p: any) => p.status), ['completed', 'skipped', 'skipped', 'skipped', 'skipped']);
  });

  test('unknown runs and definitions are 404s', async () => {
    const reply = await svc.call('POST', '/v1/runs', { as: N8N, body: { workflow_id: 'no-such-workflow' } });
    assert.equal(reply.status, 404);
    assert.equal(reply.body.error.code, 'definition_not_found');
    assert.equal((await svc.call('GET', '/v1/runs/run_missing')).status, 404);
    await refused('/v1/runs/run_missing/complete', 'admin', 404, 'run_not_found');
  });

  test('action failures follow on_error: continue, rollback, fail', async () => {
    // continue: the action is failed, the run and the phase go on.
    const a = (await start('rollout-flow')).run_id;
    await ok(`/v1/runs/${a}/phases/provision/start`, INFRA);
    await ok(`/v1/runs/${a}/phases/provision/actions/tag/start`, INFRA);
    const continued = await ok(`/v1/runs/${a}/phases/provision/actions/tag/fail`, INFRA, { error: { code: 'tag_rejected', message: 'no' } });
    assert.equal(continued.status, 'running');
    assert.equal(continued.phases[1].status, 'in_progress');
    assert.deepEqual(continued.phases[1].actions[0].error, { code: 'tag_rejected', message: 'no' });
    assert.equal(continued.phases[1].actions[0].status, 'failed');
    // rollback: the run fails and gets a plan.
    await ok(`/v1/runs/${a}/phases/provision/actions/clone/start`, INFRA);
    const rolled = await ok(`/v1/runs/${a}/phases/provision/actions/clone/fail`, INFRA, { error: { code: 'vm_creation_timeout', message: 'slow' } });
    assert.equal(rolled.status, 'failed');
    assert.equal(rolled.error.code, 'vm_creation_timeout');
    assert.equal(rolled.phases[1].status, 'failed');
    assert.deepEqual(rolled.rollback.steps.map((s: any) => s.step_id), ['provision-rollback']);

    // fail: the run fails without a plan.
    const b = (await start('rollout-flow')).run_id;
    await ok(`/v1/runs/${b}/phases/provision/start`, INFRA);
    await ok(`/v1/runs/${b}/phases/provision/actions/precheck/start`, INFRA);
    const failed = await ok(`/v1/runs/${b}/phases/provision/actions/precheck/fail`, INFRA, { error: { code: 'storage_quota_exceeded', message: 'full' } });
    assert.equal(failed.status, 'failed');
    assert.equal(failed.error.code, 'storage_quota_exceeded');
    assert.equal(failed.rollback, null);
    const types = (await events(b)).map((e) => e.type);
    assert.deepEqual(types.slice(-3), ['action.failed', 'phase.failed', 'run.failed']);
  });

  test('failing a phase fails the run with that error; failing a run with rollback:false leaves no plan', async () => {
    const a = (await start('rollout-flow')).run_id;
    await runPhase(a, 'stage', INFRA);
    await ok(`/v1/runs/${a}/phases/provision/start`, INFRA);
    const failed = await ok(`/v1/runs/${a}/phases/provision/fail`, INFRA, { error: { code: 'vm_creation_timeout', message: 'clone stuck' } });
    assert.equal(failed.status, 'failed');
    assert.deepEqual(failed.error, { code: 'vm_creation_timeout', message: 'clone stuck' });
    assert.deepEqual(failed.phases[1].error, { code: 'vm_creation_timeout', message: 'clone stuck' });
    assert.equal(failed.phases[0].status, 'completed');
    // stage is not named by rollback_procedure: it is not undone.
    assert.deepEqual(failed.rollback.steps.map((s: any) => s.step_id), ['provision-rollback']);

    const b = (await start('rollout-flow')).run_id;
    await ok(`/v1/runs/${b}/phases/stage/start`, INFRA);
    const noPlan = await ok(`/v1/runs/${b}/fail`, N8N, { error: { code: 'operator_abort', message: 'stop' }, rollback: false });
    assert.equal(noPlan.status, 'failed');
    assert.equal(noPlan.rollback, null);
    assert.equal(noPlan.phases[0].status, 'failed');
    assert.equal(noPlan.phases[0].error.code, 'run_failed');
    const plan = await svc.call('GET', `/v1/runs/${b}/rollback`);
    assert.equal(plan.status, 404);
    assert.equal(plan.body.error.code, 'no_rollback_plan');
  });

  test('concurrency_key: a second running run with the same key is a 409 until the first finishes', async () => {
    const first = await start('rollout-flow', N8N, { concurrency_key: 'cluster:prod-k8s-01' });
    const clash = await svc.call('POST', '/v1/runs', { as: INFRA, body: { workflow_id: 'deploy-monitoring-stack', concurrency_key: 'cluster:prod-k8s-01' } });
    assert.equal(clash.status, 409, clash.text);
    assert.equal(clash.body.error.code, 'concurrency_key_taken');
    // Another key, or none, is fine.
    await start('rollout-flow', N8N, { concurrency_key: 'cluster:staging' });
    await start('rollout-flow', N8N);

    await ok(`/v1/runs/${first.run_id}/complete`, N8N);
    const second = await start('deploy-monitoring-stack', INFRA, { concurrency_key: 'cluster:prod-k8s-01' });
    assert.equal(second.concurrency_key, 'cluster:prod-k8s-01');
    // A failed run frees its key as well.
    await ok(`/v1/runs/${second.run_id}/fail`, INFRA, { error: { code: 'operator_abort', message: '' } });
    await start('rollout-flow', N8N, { concurrency_key: 'cluster:prod-k8s-01' });
  });

  test("the seed's scenario: phases 1 and 2 completed, 3 in progress, run failed: undo 3, 2, 1", async () => {
    const id = (await start('deploy-monitoring-stack')).run_id;
    await runPhase(id, 'provision-monitoring-nodes', INFRA);
    await runPhase(id, 'install-stack', TALOS);
    await ok(`/v1/runs/${id}/phases/configure-alerting/start`, N8N);
    const failed = await ok(`/v1/runs/${id}/fail`, N8N, { error: { code: 'alert_routing_failed', message: 'alertmanager 500' } });
    assert.equal(failed.status, 'failed');
    assert.equal(failed.phases[2].status, 'failed');
    assert.equal(failed.phases[2].error.code, 'run_failed');
    // Read by a party that did not start the run: talos-contractor owns install-stack (auth-scopes.test.ts: non-parties get 403).
    const plan = await svc.call('GET', `/v1/runs/${id}/rollback`, { as: TALOS });
    assert.equal(plan.status, 200, plan.text);
    assert.equal(plan.body.run_id, id);
    assert.equal(plan.body.status, 'pending');
    assert.deepEqual(
      plan.body.steps.map((s: any) => [s.step_id, s.phase_id, s.contractor, s.status]),
      [
        ['configure-alerting-rollback', 'configure-alerting', N8N, 'pending'],
        ['install-stack-rollback', 'install-stack', TALOS, 'pending'],
        ['provision-monitoring-nodes-rollback', 'provision-monitoring-nodes', INFRA, 'pending'],
      ],
    );
    assert.deepEqual(plan.body.steps[1].actions.map((a: any) => a.action_id), [
      'uninstall-kube-prometheus-stack',
      'remove-monitoring-nodes',
      'reset-monitoring-nodes',
    ]);
  });

  test('the plan follows rollback_procedure, not phase order, and covers only started phases it names', async () => {
    const id = (await start('rollout-flow')).run_id;
    await runPhase(id, 'stage', INFRA);
    await runPhase(id, 'provision', INFRA);
    await runPhase(id, 'configure', TALOS);
    await ok(`/v1/runs/${id}/phases/integrate/start`, N8N);
    const failed = await ok(`/v1/runs/${id}/fail`, N8N, { error: { code: 'operator_abort', message: '' } });
    // Named order: provision, integrate, configure, verify. verify never started; stage is not named.
    assert.deepEqual(
      failed.rollback.steps.map((s: any) => [s.step_id, s.contractor, s.status, s.actions.map((a: any) => a.action_id)]),
      [
        ['provision-rollback', INFRA, 'pending', ['deprovision']],
        ['integrate-rollback', N8N, 'pending', ['unregister']],
        ['configure-rollback', TALOS, 'pending', ['unconfigure']],
      ],
    );
  });

  test('without a rollback_procedure every started phase is undone, the latest started first', async () => {
    const { rollback_procedure: _omitted, ...rest } = ROLLOUT;
    const definition = { ...rest, workflow_id: 'no-procedure-flow' };
    assert.equal((await svc.call('POST', '/v1/definitions', { body: definition })).status, 201);
    const id = (await start('no-procedure-flow')).run_id;
    await runPhase(id, 'stage', INFRA);
    await runPhase(id, 'provision', INFRA);
    await ok(`/v1/runs/${id}/phases/configure/start`, TALOS);
    const failed = await ok(`/v1/runs/${id}/fail`, N8N, { error: { code: 'operator_abort', message: '' } });
    assert.deepEqual(failed.rollback.steps.map((s: any) => s.step_id), ['configure-rollback', 'provision-rollback', 'stage-rollback']);
    assert.deepEqual(failed.rollback.steps[2].actions, [], 'a phase without rollback actions gets an empty step');
  });

  test('security incident response: containment and the other phases left out of rollback_procedure are never undone', async () => {
    const id = (await start('security-incident-response', 'admin')).run_id;
    for (const phase of ['triage', 'assess', 'contain', 'quarantine-vms', 'eradication-plan']) await runPhase(id, phase, 'admin');
    await ok(`/v1/runs/${id}/phases/replace-nodes/start`, INFRA);
    const failed = await ok(`/v1/runs/${id}/phases/replace-nodes/fail`, INFRA, { error: { code: 'vm_creation_timeout', message: '' } });
    assert.deepEqual(failed.rollback.steps.map((s: any) => s.step_id), ['replace-nodes-rollback']);
  });

  test('rollback steps: pending → in_progress → done; a step is marked once; only its contractor, the starter or an admin', async () => {
    const id = (await start('rollout-flow')).run_id;
    await runPhase(id, 'provision', INFRA);
    await runPhase(id, 'configure', TALOS);
    await ok(`/v1/runs/${id}/phases/integrate/start`, N8N);
    const failed = await ok(`/v1/runs/${id}/phases/integrate/fail`, N8N, { error: { code: 'register_failed', message: '' } });
    assert.equal(failed.rollback.status, 'pending');
    const step = (stepId: string) => `/v1/runs/${id}/rollback/steps/${stepId}`;

    await refused(step('provision-rollback'), TALOS, 403, 'forbidden', { status: 'done' });
    await refused(step('no-such-rollback'), 'admin', 404, 'rollback_step_not_found', { status: 'done' });

    const first = await ok(step('integrate-rollback'), N8N, { status: 'done', note: 'unregistered' });
    assert.equal(first.status, 'failed', 'the run stays failed');
    assert.equal(first.rollback.status, 'in_progress');
    const marked = first.rollback.steps.find((s: any) => s.step_id === 'integrate-rollback');
    assert.equal(marked.status, 'done');
    assert.equal(marked.note, 'unregistered');
    assert.notEqual(marked.updated_at, null);
    await refused(step('integrate-rollback'), N8N, 409, 'illegal_transition', { status: 'done' });
    await refused(step('integrate-rollback'), 'admin', 409, 'illegal_transition', { status: 'failed' });

    const second = await ok(step('configure-rollback'), TALOS, { status: 'done' });
    assert.equal(second.rollback.status, 'in_progress');
    const last = await ok(step('provision-rollback'), INFRA, { status: 'done' });
    assert.equal(last.rollback.status, 'done');
    const plan = await svc.call('GET', `/v1/runs/${id}/rollback`);
    assert.equal(plan.body.status, 'done');
    assert.deepEqual(plan.body.steps.map((s: any) => s.status), ['done', 'done', 'done']);

    const stepEvents = (await events(id)).filter((e) => e.type === 'rollback.step');
    assert.deepEqual(
      stepEvents.map((e) => [e.data.step_id, e.data.status, e.actor]),
      [
        ['integrate-rollback', 'done', N8N],
        ['configure-rollback', 'done', TALOS],
        ['provision-rollback', 'done', INFRA],
      ],
    );
  });

  test('rollback steps: one failed step makes the plan failed', async () => {
    const id = (await start('rollout-flow')).run_id;
    await runPhase(id, 'provision', INFRA);
    await ok(`/v1/runs/${id}/phases/configure/start`, TALOS);
    const failed = await ok(`/v1/runs/${id}/fail`, 'admin', { error: { code: 'operator_abort', message: '' } });
    assert.deepEqual(failed.rollback.steps.map((s: any) => s.step_id), ['provision-rollback', 'configure-rollback']);
    const afterFail = await ok(`/v1/runs/${id}/rollback/steps/configure-rollback`, TALOS, { status: 'failed', note: 'node unreachable' });
    assert.equal(afterFail.rollback.status, 'failed');
    const afterDone = await ok(`/v1/runs/${id}/rollback/steps/provision-rollback`, N8N, { status: 'done' }); // the starter
    assert.equal(afterDone.rollback.status, 'failed', 'a failed step keeps the plan failed');
    await refused(`/v1/runs/${id}/rollback/steps/configure-rollback`, TALOS, 409, 'illegal_transition', { status: 'done' });
    // A run that completed has no plan to mark.
    const okRun = (await start('rollout-flow')).run_id;
    await ok(`/v1/runs/${okRun}/complete`, N8N);
    await refused(`/v1/runs/${okRun}/rollback/steps/stage-rollback`, 'admin', 409, 'illegal_transition', { status: 'done' });
  });

  test('a contractor that neither started the run nor owns the phase gets 403', async () => {
    const id = (await start('deploy-monitoring-stack', N8N)).run_id;
    const p1 = 'provision-monitoring-nodes';
    await refused(`/v1/runs/${id}/phases/${p1}/start`, TALOS, 403, 'forbidden');
    await refused(`/v1/runs/${id}/phases/${p1}/start`, SECURITY, 403, 'forbidden');
    await ok(`/v1/runs/${id}/phases/${p1}/start`, INFRA); // the phase's contractor
    await refused(`/v1/runs/${id}/phases/${p1}/actions/check-capacity/start`, TALOS, 403, 'forbidden');
    await ok(`/v1/runs/${id}/phases/${p1}/actions/check-capacity/start`, N8N); // the starter
    await refused(`/v1/runs/${id}/phases/${p1}/actions/check-capacity/complete`, SECURITY, 403, 'forbidden');
    await ok(`/v1/runs/${id}/phases/${p1}/actions/check-capacity/complete`, INFRA);
    await refused(`/v1/runs/${id}/phases/${p1}/complete`, TALOS, 403, 'forbidden');
    await ok(`/v1/runs/${id}/phases/${p1}/complete`, INFRA);
    // The run as a whole: only the starter or an admin.
    await refused(`/v1/runs/${id}/complete`, INFRA, 403, 'forbidden');
    await refused(`/v1/runs/${id}/fail`, TALOS, 403, 'forbidden', { error: { code: 'x', message: '' } });
    await refused(`/v1/runs/${id}/phases/install-stack/fail`, SECURITY, 403, 'forbidden', { error: { code: 'x', message: '' } });
    // Nothing was changed by the refused calls.
    const run = await getRun(id);
    assert.equal(run.status, 'running');
    assert.deepEqual(run.phases.map((p: any) => p.status), ['completed', 'pending', 'pending']);
    const admin = await ok(`/v1/runs/${id}/complete`, 'admin');
    assert.equal(admin.status, 'completed');
  });

  test('listing: status=running gives the active runs, newest first, page by page', async () => {
    const definition = { ...ROLLOUT, workflow_id: 'list-flow' };
    assert.equal((await svc.call('POST', '/v1/definitions', { body: definition })).status, 201);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push((await start('list-flow')).run_id);
      await new Promise((resolve) => setTimeout(resolve, 3)); // distinct created_at, so the order is known
    }
    await ok(`/v1/runs/${ids[1]}/complete`, N8N);
    await ok(`/v1/runs/${ids[3]}/fail`, N8N, { error: { code: 'operator_abort', message: '' } });

    const collect = async (query: string) => {
      const seen: string[] = [];
      let cursor: string | null = null;
      for (let guard = 0; guard < 10; guard++) {
        const reply: any = await svc.call('GET', `/v1/runs?${query}&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { as: TALOS });
        assert.equal(reply.status, 200, reply.text);
        assert.ok(reply.body.items.length <= 2);
        seen.push(...reply.body.items.map((r: any) => r.run_id));
        cursor = reply.body.next_cursor;
        if (!cursor) break;
      }
      return seen;
    };
    const active = await collect('workflow_id=list-flow&status=running');
    assert.deepEqual(active, [ids[4], ids[2], ids[0]]);
    const all = await collect('workflow_id=list-flow');
    assert.deepEqual(all, [...ids].reverse());
    const completed = await svc.call('GET', '/v1/runs?workflow_id=list-flow&status=completed');
    assert.deepEqual(completed.body.items.map((r: any) => r.run_id), [ids[1]]);
    const running = await svc.call('GET', '/v1/runs?status=running&limit=500');
    for (const item of running.body.items) assert.equal(item.status, 'running');
    assert.ok(running.body.items.some((r: any) => r.run_id === ids[4]));
    assert.ok(!running.body.items.some((r: any) => r.run_id === ids[3] || r.run_id === ids[1]));
  });
});
