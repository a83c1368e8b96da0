// End to end inside real n8n 2.41: the package is built, packed and installed into a fresh n8n
// user folder as a user's install does; credentials and two workflows are imported and published
// with n8n's CLI; n8n runs headless on loopback next to a real Cortex service.
//
//   A (n8n-contractor):  Webhook → Handoff: Create (to talos-contractor) → Handoff: Wait for
//                        Completion ─Completed→ Set "Cluster Ready"  /  ─Failed→ NoOp
//   B (talos-contractor): Handoff Trigger (handoff.created) → Handoff: Claim → Handoff: Complete
//
// Calling A's webhook creates the handoff and pauses A; the service calls B's trigger URL
// (signed), B claims and completes; the service calls A's resume URL and A ends on "Completed"
// with B's result. Results are read from n8n's own execution store (the user folder's SQLite);
// n8n's webhook base URL (N8N_WEBHOOK_URL) is a recording proxy on loopback, so the calls the
// service makes to n8n (B's trigger, A's resume URL) and n8n's answers are seen too.
//
// Slow (n8n start-up, four CLI runs, an npm install): `npm run test:e2e`, not part of `npm test`.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { eventually, freePort, startTestService, tokenFor, type TestService } from '../service/harness.ts';
import { buildAndPack, ended, N8n, n8nHome, outputItems, RecordingProxy, stepTimings } from './n8n.ts';

const WORKFLOW_A = 'cortexE2eSender01';
const WORKFLOW_B = 'cortexE2eTalos001';
const CREDENTIAL_SENDER = 'cortexE2eCredN8n1';
const CREDENTIAL_TALOS = 'cortexE2eCredTal1';
const START_PATH = `cortex-e2e-${randomUUID().slice(0, 8)}`;

const { timings, timed } = stepTimings();

function senderWorkflow() {
  const credentials = { cortexApi: { id: CREDENTIAL_SENDER, name: 'Cortex (n8n-contractor)' } };
  return {
    id: WORKFLOW_A,
    name: 'E2E A: hand the cluster build to Talos and wait',
    active: false,
    settings: { executionOrder: 'v1' },
    nodes: [
      {
        id: 'a-start',
        name: 'Start',
        type: 'n8n-nodes-base.webhook',
        typeVersion: 2.1,
        position: [0, 0],
        webhookId: randomUUID(),
        parameters: { httpMethod: 'POST', path: START_PATH, responseMode: 'onReceived', options: {} },
      },
      {
        id: 'a-create',
        name: 'Create Handoff',
        type: 'n8n-nodes-cortex.handoff',
        typeVersion: 1,
        position: [220, 0],
        credentials,
        parameters: {
          resource: 'handoff',
          operation: 'create',
          fromContractor: 'n8n-contractor',
          toContractor: 'talos-contractor',
          taskId: '={{ $json.body.task_id }}',
          dataMode: 'json',
          dataJson: '={{ JSON.stringify({ cluster: $json.body.cluster, vm_ids: $json.body.vm_ids }) }}',
          options: { claimTimeout: 120, completionTimeout: 120 },
        },
      },
      {
        id: 'a-wait',
        name: 'Wait for Completion',
        type: 'n8n-nodes-cortex.handoff',
        typeVersion: 1,
        position: [440, 0],
        webhookId: randomUUID(),
        credentials,
        parameters: {
          resource: 'handoff',
          operation: 'waitForCompletion',
          handoffId: '={{ $json.handoff_id }}',
          limitWaitTime: true,
          limitAmount: 5,
          limitUnit: 'minutes',
        },
      },
      {
        id: 'a-done',
        name: 'Cluster Ready',
        type: 'n8n-nodes-base.set',
        typeVersion: 3.4,
        position: [660, -100],
        parameters: {
          mode: 'manual',
          assignments: {
            assignments: [
              { id: 'ref', name: 'kubeconfig_ref', value: '={{ $json.result.kubeconfig_ref }}', type: 'string' },
              { id: 'hid', name: 'handoff_id', value: '={{ $json.handoff_id }}', type: 'string' },
              { id: 'st', name: 'status', value: '={{ $json.status }}', type: 'string' },
            ],
          },
          includeOtherFields: false,
          options: {},
        },
      },
      { id: 'a-failed', name: 'Handoff Failed', type: 'n8n-nodes-base.noOp', typeVersion: 1, position: [660, 100], parameters: {} },
    ],
    connections: {
      Start: { main: [[{ node: 'Create Handoff', type: 'main', index: 0 }]] },
      'Create Handoff': { main: [[{ node: 'Wait for Completion', type: 'main', index: 0 }]] },
      'Wait for Completion': {
        main: [[{ node: 'Cluster Ready', type: 'main', index: 0 }], [{ node: 'Handoff Failed', type: 'main', index: 0 }]],
      },
    },
  };
}

function receiverWorkflow() {
  const credentials = { cortexApi: { id: CREDENTIAL_TALOS, name: 'Cortex (talos-contractor)' } };
  return {
    id: WORKFLOW_B,
    name: 'E2E B: Talos builds clusters handed to it',
    active: false,
    settings: { executionOrder: 'v1' },
    nodes: [
      {
        id: 'b-trigger',
        name: 'Handoff Trigger',
        type: 'n8n-nodes-cortex.handoffTrigger',
        typeVersion: 1,
        position: [0, 0],
        webhookId: randomUUID(),
        credentials,
        parameters: { contractor: 'talos-contractor', events: ['handoff.created'], options: {} },
      },
      {
        id: 'b-claim',
        name: 'Claim',
        type: 'n8n-nodes-cortex.handoff',
        typeVersion: 1,
        position: [220, 0],
        credentials,
        parameters: { resource: 'handoff', operation: 'claim', handoffId: '={{ $json.handoff_id }}' },
      },
      {
        id: 'b-complete',
        name: 'Complete',
        type: 'n8n-nodes-cortex.handoff',
        typeVersion: 1,
        position: [440, 0],
        credentials,
        parameters: {
          resource: 'handoff',
          operation: 'complete',
          handoffId: '={{ $json.handoff_id }}',
          result: '={{ JSON.stringify({ kubeconfig_ref: "vault://k8s/" + $json.data.cluster + "/kubeconfig", nodes: $json.data.vm_ids.length }) }}',
        },
      },
    ],
    connections: {
      'Handoff Trigger': { main: [[{ node: 'Claim', type: 'main', index: 0 }]] },
      Claim: { main: [[{ node: 'Complete', type: 'main', index: 0 }]] },
    },
  };
}

describe('inside real n8n: a handoff created and awaited by one workflow, claimed and completed by a trigger-started other', { timeout: 600_000 }, () => {
  const work = mkdtempSync(join(tmpdir(), 'cortex-e2e-'));
  let service: TestService | undefined;
  let n8n: N8n | undefined;
  let proxy: RecordingProxy | undefined;
  /** Set when B's trigger call was held until A's execution was waiting (see `hold` below). */
  let aWaitedBeforeB = false;
  const killOnExit = () => n8n?.kill();

  before(async () => {
    process.once('exit', killOnExit);
    const home = await timed('install n8n (cached)', () => n8nHome());
    const tarball = await timed('build + npm pack', () => buildAndPack(work));
    // Callbacks may be held by the proxy for a few seconds: give them time before a retry.
    service = await startTestService({ CORTEX_HOST: '127.0.0.1', CORTEX_DELIVERY_TIMEOUT_MS: '20000' });
    const port = await freePort();
    // n8n's webhook and resume URLs point at a recording proxy in front of n8n, so the test sees
    // every call the service makes to n8n and n8n's answers.
    proxy = await RecordingProxy.start(port);
    n8n = new N8n({ home, userFolder: join(work, 'n8n-user'), port, brokerPort: await freePort(), webhookUrl: proxy.url });
    await timed('npm install <tgz> --omit=peer', () => n8n!.installPackage(tarball));
    await timed('import:credentials', () =>
      n8n!.importCredentials([
        { id: CREDENTIAL_SENDER, name: 'Cortex (n8n-contractor)', type: 'cortexApi', data: { url: service!.url, token: tokenFor('n8n-contractor') } },
        { id: CREDENTIAL_TALOS, name: 'Cortex (talos-contractor)', type: 'cortexApi', data: { url: service!.url, token: tokenFor('talos-contractor') } },
      ]),
    );
    await timed('import:workflow', () => n8n!.importWorkflows([senderWorkflow(), receiverWorkflow()]));
    await timed('publish:workflow ×2', async () => {
      await n8n!.publish(WORKFLOW_A);
      await n8n!.publish(WORKFLOW_B);
    });
    await timed('n8n start → readiness', () => n8n!.start());
    await timed('readiness → workflows active', async () => {
      await n8n!.waitForActivation([WORKFLOW_A, WORKFLOW_B]);
      // B's Handoff Trigger registered its subscription during activation (checkExists → create).
      await eventually(async () => (await subscriptionsToN8n()).length > 0, 30_000, 100);
    });
  });

  after(async () => {
    try {
      await n8n?.stop();
      await proxy?.close();
      await service?.stop();
    } finally {
      process.removeListener('exit', killOnExit);
      rmSync(work, { recursive: true, force: true });
      console.log(`e2e timings (ms): ${JSON.stringify(timings)}`);
    }
  });

  async function subscriptionsToN8n(): Promise<any[]> {
    const reply = await service!.call('GET', '/v1/subscriptions', { as: 'talos-contractor' });
    assert.equal(reply.status, 200);
    return (reply.body.items as any[]).filter((s) => s.url.startsWith(`${proxy!.url}/webhook/`));
  }

  it('activating B registered its Handoff Trigger with the service', async () => {
    const [trigger, ...others] = await subscriptionsToN8n();
    assert.ok(trigger);
    assert.equal(others.length, 0);
    assert.deepEqual(trigger.events, ['handoff.created']);
    assert.deepEqual(trigger.filter, { to_contractor: 'talos-contractor' });
  });

  it('A creates and waits; B is started by the trigger, claims and completes; the callback resumes A on Completed', async () => {
    // Deterministic order: B's trigger call (handoff.created) is forwarded only once A's execution is
    // stored as waiting, so A is certainly resumed by the service's callback rather than finding the
    // handoff already completed when it starts waiting (a case the Handoff node's tests cover).
    proxy!.hold = async (call) => {
      if (!call.url.startsWith('/webhook/') || !call.body.includes('"handoff.created"')) return;
      await n8n!.waitFor('A waiting', () => (n8n!.executions(WORKFLOW_A).some((e) => e.status === 'waiting') ? true : undefined), 15_000);
      aWaitedBeforeB = true;
    };
    const started = performance.now();
    const taskId = `build-k8s-${randomUUID().slice(0, 8)}`;
    const call = await n8n!.callWebhook(START_PATH, { task_id: taskId, cluster: 'prod', vm_ids: [201, 202, 203] });
    assert.equal(call.status, 200, await call.text());

    // A: finished (it was waiting in between; only the service's callback can resume it on "Completed").
    const execA = await n8n!.waitFor('A finished', () => n8n!.executions(WORKFLOW_A).find(ended), 90_000);
    timings['webhook → A finished'] = Math.round(performance.now() - started);
    const runA = n8n!.runData(execA.id);
    assert.equal(execA.status, 'success', `A ended ${execA.status}: ${JSON.stringify(runA.resultData.error ?? {})}`);
    const [created] = outputItems(runA, 'Create Handoff');
    assert.equal(created?.task_id, taskId);
    assert.equal(created?.from_contractor, 'n8n-contractor');
    assert.equal(created?.to_contractor, 'talos-contractor');
    const completed = outputItems(runA, 'Wait for Completion', 0);
    assert.equal(completed.length, 1, 'one item on Completed');
    assert.equal(completed[0]?.status, 'completed');
    assert.equal(completed[0]?.handoff_id, created?.handoff_id);
    assert.deepEqual(outputItems(runA, 'Wait for Completion', 1), [], 'nothing on Failed / Timed Out');
    assert.deepEqual(outputItems(runA, 'Cluster Ready'), [{ kubeconfig_ref: 'vault://k8s/prod/kubeconfig', handoff_id: created?.handoff_id, status: 'completed' }]);
    assert.equal(runA.resultData.runData['Handoff Failed'], undefined);

    // B: started by the Handoff Trigger with the handoff, claimed and completed it.
    const execB = n8n!.executions(WORKFLOW_B).find((e) => {
      const run = n8n!.runData(e.id);
      return outputItems(run, 'Handoff Trigger')[0]?.handoff_id === created?.handoff_id;
    });
    assert.ok(execB, 'B ran for the handoff');
    assert.equal(execB.status, 'success');
    assert.equal(execB.mode, 'webhook');
    const runB = n8n!.runData(execB.id);
    const [triggered] = outputItems(runB, 'Handoff Trigger');
    assert.equal(triggered?.event, 'handoff.created');
    assert.match(String(triggered?.webhook_id), /.+/);
    assert.deepEqual(triggered?.data, { cluster: 'prod', vm_ids: [201, 202, 203] });
    assert.equal(outputItems(runB, 'Claim')[0]?.status, 'in_progress');
    assert.equal(outputItems(runB, 'Complete')[0]?.status, 'completed');

    // The service: completed with B's result, and both callbacks (B's trigger, A's resume URL) delivered.
    const handoff = await service!.call('GET', `/v1/handoffs/${created?.handoff_id}`, { as: 'n8n-contractor' });
    assert.equal(handoff.body.status, 'completed');
    assert.deepEqual(handoff.body.result, { kubeconfig_ref: 'vault://k8s/prod/kubeconfig', nodes: 3 });
    // What the service sent n8n (through the proxy): the signed handoff.created to B's trigger URL,
    // then handoff.completed to A's resume URL ($execution.resumeUrl: /webhook-waiting/<id>?signature=…).
    assert.ok(aWaitedBeforeB, 'A was stored as waiting before B started');
    const toTrigger = proxy!.calls.filter((c) => c.url.startsWith('/webhook/') && c.body.includes(created?.handoff_id));
    assert.equal(toTrigger.length, 1, JSON.stringify(toTrigger));
    assert.equal(toTrigger[0]?.status, 200);
    assert.equal(JSON.parse(toTrigger[0]!.body).type, 'handoff.created');
    assert.match(String(toTrigger[0]?.headers['webhook-signature']), /^v1,/);
    const resumes = proxy!.calls.filter((c) => c.url.startsWith(`/webhook-waiting/${execA.id}?`));
    assert.ok(resumes.length >= 1, `no call to A's resume URL: ${proxy!.calls.map((c) => `${c.method} ${c.url} ${c.status}`).join('; ')}`);
    const resume = resumes.at(-1)!;
    assert.match(resume.url, /[?&]signature=/);
    assert.equal(resume.status, 200);
    assert.equal(JSON.parse(resume.body).type, 'handoff.completed');
    assert.equal(JSON.parse(resume.body).data.handoff.handoff_id, created?.handoff_id);
    assert.equal(completed[0]?.wait_timeout, false);
  });

  it('a forged call to the Handoff Trigger gets 401 from n8n and starts nothing', async () => {
    const [subscription] = await subscriptionsToN8n();
    const before = n8n!.executions(WORKFLOW_B).length;
    const body = JSON.stringify({ type: 'handoff.created', timestamp: new Date().toISOString(), data: { handoff: { handoff_id: 'forged' } } });
    const reply = await fetch(subscription.url.replace(proxy!.url, n8n!.baseUrl), {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'webhook-id': 'msg_forged',
        'webhook-timestamp': String(Math.floor(Date.now() / 1000)),
        'webhook-signature': `v1,${Buffer.alloc(32).toString('base64')}`,
      },
      body,
      signal: AbortSignal.timeout(10_000),
    });
    assert.equal(reply.status, 401);
    assert.equal(((await reply.json()) as { error: { code: string } }).error.code, 'invalid_signature');
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(n8n!.executions(WORKFLOW_B).length, before, 'no execution of B');
  });

  it('n8n made no outbound calls beyond loopback', () => {
    assert.doesNotMatch(n8n!.log(), /ENOTFOUND|EAI_AGAIN/, 'n8n tried to reach a host outside loopback');
  });
});
