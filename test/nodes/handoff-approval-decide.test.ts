// The Handoff node's Approval → Record Decision on the real n8n engine (engine.ts) against a real
// Cortex service: the chat-button pattern (an Approval Gate pauses and notifies with the approval
// id and links; a separate execution, as a chat button's webhook would start it, records each
// approver's decision with the admin token) resumes the gate on Approved / Rejected. The service's
// refusals as n8n shows them (not an approver 403, a second decision 409, a contractor token 403),
// bad parameters, continueOnFail, and replays through the Idempotency-Key (Retry On Fail after a
// lost answer, an explicit key sent again) instead of a second decision.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { IDataObject, NodeApiError, NodeOperationError } from 'n8n-workflow';
import { createEngine, type Engine, type RunResult, type WorkflowJson, type WorkflowNodeJson } from './engine.ts';
import { startServiceProxy, type ServiceProxy } from './service-proxy.ts';
import { eventually, startTestService, tokenFor, type TestService } from '../service/harness.ts';

const { CortexApi } = await import('../../credentials/CortexApi.credentials.ts');
const { Handoff } = await import('../../nodes/Handoff/Handoff.node.ts');
const { ApprovalGate } = await import('../../nodes/ApprovalGate/ApprovalGate.node.ts');
const { FixtureEcho } = await import('./fixtures/FixtureEcho.node.ts');

const N8N = 'n8n-contractor';
const START = 'Start';
const NODE = 'Record Decision';
const GATE = 'Approval Gate';
const OUTS = ['On Approved', 'On Rejected', 'On Timed Out'] as const;

// The first is what nodes without a credential entry get (the Approval Gate: the creator).
const CREDENTIAL = { 'n8n-contractor': '1', admin: '2', 'admin-proxy': '3' } as const;
type As = keyof typeof CREDENTIAL;

let service: TestService;
let proxy: ServiceProxy;
let engine: Engine;
let notify: { url: string; bodies: IDataObject[]; close(): Promise<void> };

async function startNotifyReceiver(): Promise<typeof notify> {
  const receiver = { url: '', bodies: [] as IDataObject[], close: async () => {} };
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += String(chunk)));
    req.on('end', () => {
      receiver.bodies.push(JSON.parse(body) as IDataObject);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/notify`;
  receiver.close = async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return receiver;
}

before(async () => {
  service = await startTestService({ CORTEX_APPROVER_GROUPS: 'sre=alice,bob,carol', CORTEX_DELIVERY_BACKOFF_MS: '100' });
  proxy = await startServiceProxy(() => service.url);
  notify = await startNotifyReceiver();
  const credential = (who: As) => ({
    id: CREDENTIAL[who],
    name: `Cortex (${who})`,
    data: { url: who === 'admin-proxy' ? proxy.url : service.url, token: tokenFor(who === 'n8n-contractor' ? N8N : 'admin') },
  });
  engine = createEngine({
    nodeTypes: [Handoff, ApprovalGate, FixtureEcho],
    credentialTypes: [CortexApi],
    credentials: { cortexApi: (Object.keys(CREDENTIAL) as As[]).map(credential) },
  });
  await engine.listen();
});

after(async () => {
  await engine.close();
  await notify.close();
  await proxy.close();
  await service.stop();
});

/** What a chat button's webhook would hand on: the approval, who pressed, which button, a comment. */
const DECIDE = {
  operation: 'recordDecision',
  approvalId: '={{ $json.approval_id }}',
  approver: '={{ $json.user }}',
  decision: '={{ $json.action }}',
  comment: '={{ $json.text }}',
};

/** Start → Handoff (Approval → Record Decision), one execution as a chat webhook would start it. */
async function record(items: IDataObject[], as: As = 'admin', parameters: Record<string, unknown> = DECIDE, extra: Partial<WorkflowNodeJson> = {}): Promise<RunResult> {
  const node: WorkflowNodeJson = {
    name: NODE,
    type: 'n8n-nodes-cortex.handoff',
    typeVersion: 1,
    parameters: { resource: 'approval', ...parameters } as WorkflowNodeJson['parameters'],
    credentials: { cortexApi: { id: CREDENTIAL[as], name: `Cortex (${as})` } },
    ...extra,
  };
  const workflow: WorkflowJson = {
    name: 'chat decision',
    nodes: [{ name: START, type: 'n8n-nodes-base.manualTrigger', parameters: {} }, node],
    connections: { [START]: { main: [[{ node: NODE, type: 'main', index: 0 }]] } },
  };
  return await engine.run(workflow, { startNodeData: items.map((json) => ({ json })) });
}

function succeeded(result: RunResult): void {
  assert.equal(result.status, 'success', `${result.error?.message ?? ''} ${(result.error as NodeApiError | undefined)?.description ?? ''}`);
}

function apiError(result: RunResult): NodeApiError {
  assert.equal(result.status, 'error');
  assert.equal(result.error?.name, 'NodeApiError', result.error?.message);
  return result.error as NodeApiError;
}

async function createApproval(approvers: string[] = ['alice', 'bob', 'carol'], requiredApprovals = 2): Promise<string> {
  const reply = await service.call('POST', '/v1/approvals', { as: N8N, body: { title: 'Deploy', approvers, required_approvals: requiredApprovals, deadline: 3600 } });
  assert.equal(reply.status, 201, reply.text);
  return String(reply.body.approval_id);
}

async function approvalOf(id: string): Promise<IDataObject> {
  return (await service.call('GET', `/v1/approvals/${id}`)).body as IDataObject;
}

/** Start → Approval Gate (2 of alice, bob, carol; Notify URL) → one echo node per output. */
function gateWorkflow(): WorkflowJson {
  return {
    name: 'gate waiting for chat decisions',
    nodes: [
      { name: START, type: 'n8n-nodes-base.manualTrigger', parameters: {} },
      {
        name: GATE,
        type: 'n8n-nodes-cortex.approvalGate',
        typeVersion: 1,
        webhookId: randomUUID(),
        parameters: {
          title: 'Deploy v2',
          approvers: 'group:sre',
          requiredApprovals: 2,
          deadlineType: 'after',
          deadlineAmount: 1,
          deadlineUnit: 'hours',
          options: { notifyUrl: notify.url },
        },
      },
      ...OUTS.map((name) => ({ name, type: 'n8n-nodes-cortex.fixtureEcho', parameters: { tag: name } })),
    ],
    connections: {
      [START]: { main: [[{ node: GATE, type: 'main', index: 0 }]] },
      [GATE]: { main: OUTS.map((name) => [{ node: name, type: 'main' as const, index: 0 }]) },
    },
  };
}

/** Runs the gate until it waits; returns the execution and what it sent the Notify URL before pausing. */
async function waitingGate(): Promise<{ waiting: RunResult; notification: IDataObject }> {
  const waiting = await engine.run(gateWorkflow());
  assert.equal(waiting.status, 'waiting', waiting.error?.message);
  const notification = await eventually(async () => notify.bodies.find((b) => String(b.callback_url) === waiting.resumeUrl));
  return { waiting, notification };
}

function gateOutputs(result: RunResult): IDataObject[][] {
  return result.outputOf(GATE).map((items) => items.map((item) => item.json));
}

describe('Approval: record decision', () => {
  it('2 of 3 from chat: alice → still pending (1 decision), bob → approved; the waiting Approval Gate resumes on Approved', async () => {
    const { waiting, notification } = await waitingGate();
    const id = String(notification.approval_id);
    assert.deepEqual((notification.links as IDataObject[]).map((l) => l.approver), ['alice', 'bob', 'carol']);

    const first = await record([{ approval_id: id, user: 'alice', action: 'approve', text: 'LGTM' }]);
    succeeded(first);
    const [items] = first.outputOf(NODE);
    assert.deepEqual(items?.map((i) => i.pairedItem), [{ item: 0 }]);
    const afterAlice = items![0]!.json;
    assert.equal(afterAlice.approval_id, id);
    assert.equal(afterAlice.status, 'pending');
    assert.equal(afterAlice.approvals, 1);
    assert.equal(afterAlice.required_approvals, 2);
    assert.deepEqual((afterAlice.decisions as IDataObject[]).map((d) => [d.approver, d.decision, d.comment, d.via]), [['alice', 'approve', 'LGTM', 'api']]);
    assert.equal(afterAlice.links, undefined, 'the approvers\' links stay out of the item');
    const { links, ...stored } = await approvalOf(id);
    assert.ok(Array.isArray(links));
    assert.deepEqual(afterAlice, stored, 'the approval as the service holds it');

    await assert.rejects(engine.waitForResume(waiting, 300), /was not resumed/, 'one of two: the gate keeps waiting');

    const second = await record([{ approval_id: id, user: 'bob', action: 'approve', text: '' }]);
    succeeded(second);
    const afterBob = second.jsonOf(NODE)[0]!;
    assert.equal(afterBob.status, 'approved');
    assert.equal(afterBob.outcome_reason, 'approvals_reached');
    assert.deepEqual(afterBob.approved_by, ['alice', 'bob']);
    assert.equal((afterBob.decisions as IDataObject[])[1]!.comment, null, 'an empty comment is none');

    const resumed = await engine.waitForResume(waiting);
    assert.equal(resumed.status, 'success', resumed.error?.message);
    const [approved, rejected, timedOut] = gateOutputs(resumed);
    assert.equal(rejected!.length + timedOut!.length, 0);
    assert.equal(approved![0]!.status, 'approved');
    assert.deepEqual(approved![0]!.approved_by, ['alice', 'bob']);
    assert.deepEqual(resumed.executedNodes, [GATE, 'On Approved']);

    // The history says the admin token recorded them.
    const events = (await service.call('GET', `/v1/approvals/${id}/events`)).body.items as IDataObject[];
    const decisions = events.filter((e) => e.type === 'approval.decision').map((e) => e.data as IDataObject);
    assert.deepEqual(decisions.map((d) => [d.approver, d.via, typeof d.recorded_by]), [
      ['alice', 'api', 'string'],
      ['bob', 'api', 'string'],
    ]);
  });

  it('a rejection (two items in one execution, paired) ends it as rejected; the waiting gate resumes on Rejected', async () => {
    const { waiting, notification } = await waitingGate();
    const id = String(notification.approval_id);
    const result = await record([
      { approval_id: id, user: 'alice', action: 'approve', text: '' },
      { approval_id: id, user: 'carol', action: 'reject', text: 'change freeze' },
    ]);
    succeeded(result);
    const [items] = result.outputOf(NODE);
    assert.deepEqual(items?.map((i) => i.pairedItem), [{ item: 0 }, { item: 1 }]);
    assert.deepEqual(items?.map((i) => i.json.status), ['pending', 'rejected']);
    assert.deepEqual(items?.[1]?.json.rejected_by, ['carol']);

    const resumed = await engine.waitForResume(waiting);
    const [approved, rejected, timedOut] = gateOutputs(resumed);
    assert.equal(approved!.length + timedOut!.length, 0);
    assert.equal(rejected![0]!.status, 'rejected');
    assert.deepEqual((rejected![0]!.decisions as IDataObject[]).map((d) => [d.approver, d.decision, d.comment]), [
      ['alice', 'approve', null],
      ['carol', 'reject', 'change freeze'],
    ]);
  });

  it("the service's refusals are NodeApiErrors with its message: not an approver (403), a second decision and a settled approval (409)", async () => {
    const id = await createApproval();
    const stranger = apiError(await record([{ approval_id: id, user: 'mallory', action: 'approve' }]));
    assert.equal(stranger.message, `mallory is not an approver of approval ${id}`);
    assert.equal(stranger.httpCode, '403');
    assert.equal(stranger.description, 'not_an_approver');
    assert.equal(stranger.context.itemIndex, 0);

    succeeded(await record([{ approval_id: id, user: 'alice', action: 'approve' }]));
    const twice = apiError(await record([{ approval_id: id, user: 'alice', action: 'reject' }]));
    assert.equal(twice.message, `alice already decided (approve) on approval ${id}`);
    assert.equal(twice.httpCode, '409');
    assert.equal(twice.description, 'already_decided');
    assert.equal(twice.context.itemIndex, 0);

    succeeded(await record([{ approval_id: id, user: 'bob', action: 'approve' }]));
    const late = apiError(await record([{ approval_id: id, user: 'carol', action: 'reject' }]));
    assert.equal(late.message, `approval ${id} is already approved`);
    assert.equal(late.httpCode, '409');
    const stored = await approvalOf(id);
    assert.deepEqual((stored.decisions as IDataObject[]).map((d) => [d.approver, d.decision]), [
      ['alice', 'approve'],
      ['bob', 'approve'],
    ]);

    const missing = apiError(await record([{ approval_id: 'apr_missing', user: 'alice', action: 'approve' }]));
    assert.equal(missing.httpCode, '404');
  });

  it('a contractor token gets the service\'s 403 as a NodeApiError that says the admin token is needed; nothing is recorded', async () => {
    const id = await createApproval();
    const refused = apiError(await record([{ approval_id: id, user: 'alice', action: 'approve' }], N8N));
    assert.equal(refused.message, 'only an admin token may record a decision through the API; approvers use their links');
    assert.equal(refused.httpCode, '403');
    assert.match(String(refused.description), /needs the admin token in the Cortex credential/);
    assert.equal(refused.context.itemIndex, 0);
    assert.deepEqual((await approvalOf(id)).decisions, []);
  });

  it('bad parameters are NodeOperationErrors with the item index; with continueOnFail each failing item carries its error', async () => {
    const id = await createApproval();
    const items = [
      { approval_id: id, user: 'alice', action: 'approve' },
      { approval_id: id, user: 'mallory', action: 'approve' },
      { approval_id: id, user: '', action: 'approve' },
      { approval_id: id, user: 'group:sre', action: 'approve' },
      { approval_id: id, user: 'bob', action: 'maybe' },
      { approval_id: '', user: 'bob', action: 'reject' },
      { approval_id: id, user: 'carol', action: ' Reject ' },
    ];
    const result = await record(items, 'admin', DECIDE, { continueOnFail: true });
    succeeded(result);
    const [out] = result.outputOf(NODE);
    assert.deepEqual(out?.map((i) => i.pairedItem), items.map((_, item) => ({ item })));
    assert.equal(out?.[0]?.json.status, 'pending');
    assert.deepEqual(out?.slice(1, 6).map((i) => i.json), [
      { error: `mallory is not an approver of approval ${id}` },
      { error: 'Approver is required' },
      { error: 'Approver must be one identity, not a group' },
      { error: 'Decision must be "approve" or "reject"' },
      { error: 'Approval ID is required' },
    ]);
    assert.equal(out?.[6]?.json.status, 'rejected', 'needs 2 of 3: with carol\'s rejection it is out of reach');
    assert.deepEqual((await approvalOf(id)).rejected_by, ['carol']);

    const stops = await record([{ approval_id: await createApproval(), user: 'alice', action: 'approve' }, { approval_id: id, user: 'bob', action: 'maybe' }]);
    assert.equal(stops.error?.name, 'NodeOperationError');
    assert.equal(stops.error?.message, 'Decision must be "approve" or "reject"');
    assert.equal((stops.error as NodeOperationError).context.itemIndex, 1);
  });

  it("n8n's Retry On Fail after a lost answer replays the decision (automatic Idempotency-Key): one decision, no 409", async () => {
    const id = await createApproval();
    let posts = 0;
    proxy.hook = async (request, forward) => {
      if (request.method !== 'POST' || !request.url.endsWith('/decisions')) return undefined;
      const answer = await forward();
      posts += 1;
      return posts === 1 ? { status: 502, headers: { 'content-type': 'application/json' }, body: '{"error":{"code":"bad_gateway","message":"upstream answer lost","details":[]}}' } : answer;
    };
    try {
      proxy.requests = [];
      const result = await record([{ approval_id: id, user: 'alice', action: 'approve', text: 'once' }], 'admin-proxy', DECIDE, { retryOnFail: true, maxTries: 2, waitBetweenTries: 0 });
      succeeded(result);
      assert.equal(posts, 2, 'the node was retried');
      const keys = proxy.requests.filter((r) => r.method === 'POST' && r.url.endsWith('/decisions')).map((r) => r.headers['idempotency-key']);
      assert.equal(keys.length, 2);
      assert.equal(keys[0], keys[1]);
      assert.match(String(keys[0]), /^n8n-/);
      const item = result.jsonOf(NODE)[0]!;
      assert.equal(item.status, 'pending');
      assert.equal((item.decisions as IDataObject[]).length, 1);
    } finally {
      proxy.hook = undefined;
    }
    assert.equal(((await approvalOf(id)).decisions as IDataObject[]).length, 1, 'counted once');
  });

  it('an explicit Idempotency Key (e.g. the chat action id) replays a redelivered press in a new execution; reused for another decision it is refused', async () => {
    const id = await createApproval();
    const key = `slack-action-${randomUUID()}`;
    const withKey = { ...DECIDE, options: { idempotencyKey: '={{ $json.action_id }}' } };
    const press = { approval_id: id, user: 'alice', action: 'approve', text: 'ok', action_id: key };
    const first = await record([press], 'admin', withKey);
    succeeded(first);
    const again = await record([press], 'admin', withKey);
    succeeded(again);
    assert.deepEqual(again.jsonOf(NODE), first.jsonOf(NODE), 'the first answer, replayed');
    assert.equal(((await approvalOf(id)).decisions as IDataObject[]).length, 1, 'counted once');

    const other = apiError(await record([{ ...press, user: 'bob' }], 'admin', withKey));
    assert.equal(other.httpCode, '422');
    assert.equal(other.message, 'this Idempotency-Key was already used for a different request');
    assert.equal(((await approvalOf(id)).decisions as IDataObject[]).length, 1);
  });
});
