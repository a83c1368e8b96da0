// The Approval Gate on the real n8n engine (engine.ts) against a real Cortex service: it creates
// the approval, hands the links to the Notify URL and pauses; approvers decide through their
// links (the page's POST, as a browser sends it); the service's signed callback over HTTP
// resumes the execution on Approved / Rejected / Timed Out with who decided and their comments;
// an approval cancelled on the service resumes it on Rejected (status cancelled, with the reason).
// A timeout never takes Approved, whether the service's deadline or n8n's own wait limit ends
// the wait.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { IDataObject, NodeOperationError } from 'n8n-workflow';
import { createEngine, type Engine, type RunResult, type WorkflowJson } from './engine.ts';
import { eventually, startTestService, tokenFor, type TestService } from '../service/harness.ts';

const { CortexApi } = await import('../../credentials/CortexApi.credentials.ts');
const { ApprovalGate } = await import('../../nodes/ApprovalGate/ApprovalGate.node.ts');
const { FixtureEcho } = await import('./fixtures/FixtureEcho.node.ts');

const START = 'Start';
const GATE = 'Approval Gate';
const OUTS = ['On Approved', 'On Rejected', 'On Timed Out'] as const;

let service: TestService;
let engine: Engine;
let notify: { url: string; bodies: IDataObject[]; status: number; close(): Promise<void> };

async function startNotifyReceiver(): Promise<typeof notify> {
  const receiver = { url: '', bodies: [] as IDataObject[], status: 200, close: async () => {} };
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += String(chunk)));
    req.on('end', () => {
      receiver.bodies.push(JSON.parse(body) as IDataObject);
      res.writeHead(receiver.status, { 'content-type': 'application/json' }).end('{}');
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
  notify = await startNotifyReceiver();
  engine = createEngine({
    nodeTypes: [ApprovalGate, FixtureEcho],
    credentialTypes: [CortexApi],
    credentials: { cortexApi: { id: '1', name: 'Cortex (n8n-contractor)', data: { url: service.url, token: tokenFor('n8n-contractor') } } },
  });
  await engine.listen();
});

after(async () => {
  await engine.close();
  await notify.close();
  await service.stop();
});

/** Start → Approval Gate → one echo node per output, tagged with the output and $('Start')'s marker. */
function gateWorkflow(parameters: Record<string, unknown> = {}, nodeExtra: Record<string, unknown> = {}): WorkflowJson {
  const marker = `($('${START}').item.json.marker || "")`;
  return {
    name: 'approval gate test',
    nodes: [
      { name: START, type: 'n8n-nodes-base.manualTrigger', parameters: {} },
      {
        name: GATE,
        type: 'n8n-nodes-cortex.approvalGate',
        typeVersion: 1,
        webhookId: randomUUID(),
        parameters: {
          title: '=Deploy {{ $json.cluster }}',
          description: '=Roll out **v2** to `{{ $json.cluster }}`',
          approvers: 'group:sre',
          requiredApprovals: 2,
          deadlineType: 'after',
          deadlineAmount: 1,
          deadlineUnit: 'hours',
          options: { notifyUrl: notify.url },
          ...parameters,
        } as WorkflowJson['nodes'][number]['parameters'],
        ...nodeExtra,
      },
      ...OUTS.map((name) => ({ name, type: 'n8n-nodes-cortex.fixtureEcho', parameters: { tag: `={{ "${name}@" + ${marker} }}` } })),
    ],
    connections: {
      [START]: { main: [[{ node: GATE, type: 'main', index: 0 }]] },
      [GATE]: { main: OUTS.map((name) => [{ node: name, type: 'main' as const, index: 0 }]) },
    },
  };
}

const ITEM = { startNodeData: [{ json: { cluster: 'prod-eu', marker: 'm1' } }] };

/** What the Notify URL got for the approval this execution created. */
async function notificationFor(result: RunResult): Promise<IDataObject> {
  const approvals = await eventually(async () => notify.bodies.filter((b) => String(b.callback_url) === result.resumeUrl));
  return approvals.at(-1)!;
}

/** An approver's decision through their link, as the page's form posts it. */
async function decide(notification: IDataObject, approver: string, decision: 'approve' | 'reject', comment = ''): Promise<number> {
  const link = new URL(String((notification.links as { approver: string; url: string }[]).find((l) => l.approver === approver)!.url));
  const response = await fetch(`${link.origin}${link.pathname}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ approver, expires: link.searchParams.get('expires')!, sig: link.searchParams.get('sig')!, decision, comment }).toString(),
  });
  return response.status;
}

function outputs(result: RunResult): IDataObject[][] {
  return result.outputOf(GATE).map((items) => items.map((item) => item.json));
}

describe('Approval Gate', () => {
  it('creates the approval, notifies with the links and pauses; 2 of 3 approve → Approved with who and their comments', async () => {
    const waiting = await engine.run(gateWorkflow(), ITEM);
    assert.equal(waiting.status, 'waiting', waiting.error?.message);
    assert.equal(waiting.waitingNode, GATE);
    const notification = await notificationFor(waiting);
    assert.equal(notification.event, 'approval.requested');
    assert.equal(notification.title, 'Deploy prod-eu');
    assert.equal(notification.description, 'Roll out **v2** to `prod-eu`');
    assert.deepEqual(notification.context, { cluster: 'prod-eu', marker: 'm1' });
    assert.equal(notification.required_approvals, 2);
    assert.deepEqual((notification.links as { approver: string }[]).map((l) => l.approver), ['alice', 'bob', 'carol']);
    assert.equal(notification.callback, undefined, 'the callback secret is not passed on');
    // n8n's own limit: the deadline plus the margin (10 minutes by default).
    const limit = waiting.waitTill!.getTime() - Date.parse(String(notification.deadline));
    assert.equal(limit, 10 * 60_000);

    assert.equal(await decide(notification, 'alice', 'approve', 'LGTM'), 200);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal((await service.call('GET', `/v1/approvals/${notification.approval_id}`)).body.status, 'pending', 'one of two');
    assert.equal(await decide(notification, 'carol', 'approve', 'ship it'), 200);

    const resumed = await engine.waitForResume(waiting);
    assert.equal(resumed.status, 'success', resumed.error?.message);
    const [approved, rejected, timedOut] = outputs(resumed);
    assert.equal(rejected!.length + timedOut!.length, 0);
    assert.equal(approved!.length, 1);
    const item = approved![0]!;
    assert.equal(item.status, 'approved');
    assert.equal(item.wait_timeout, false);
    assert.deepEqual(item.approved_by, ['alice', 'carol']);
    assert.deepEqual((item.decisions as IDataObject[]).map((d) => [d.approver, d.decision, d.comment]), [
      ['alice', 'approve', 'LGTM'],
      ['carol', 'approve', 'ship it'],
    ]);
    assert.equal(item.links, undefined, 'no links in the output');
    assert.deepEqual(resumed.jsonOf('On Approved').map((j) => j.tag), ['On Approved@m1'], 'item pairing kept');
    assert.deepEqual(resumed.executedNodes, [GATE, 'On Approved']);
  });

  it('a rejection → Rejected, with the rejecting approver and comment', async () => {
    const waiting = await engine.run(gateWorkflow(), ITEM);
    const notification = await notificationFor(waiting);
    assert.equal(await decide(notification, 'alice', 'approve'), 200);
    assert.equal(await decide(notification, 'bob', 'reject', 'change freeze'), 200);
    const resumed = await engine.waitForResume(waiting);
    const [approved, rejected, timedOut] = outputs(resumed);
    assert.equal(approved!.length + timedOut!.length, 0);
    assert.equal(rejected![0]!.status, 'rejected');
    assert.deepEqual(rejected![0]!.rejected_by, ['bob']);
    assert.equal((rejected![0]!.decisions as IDataObject[])[1]!.comment, 'change freeze');
    assert.deepEqual(resumed.jsonOf('On Rejected').map((j) => j.tag), ['On Rejected@m1']);
  });

  it('cancelled on the service → Rejected with status cancelled, who and why; never Approved, even with an approval in', async () => {
    const waiting = await engine.run(gateWorkflow(), ITEM);
    assert.equal(waiting.status, 'waiting', waiting.error?.message);
    const notification = await notificationFor(waiting);
    assert.equal(await decide(notification, 'alice', 'approve', 'fine by me'), 200);
    const cancelled = await service.call('POST', `/v1/approvals/${String(notification.approval_id)}/cancel`, {
      as: 'n8n-contractor',
      body: { reason: 'superseded by v2.1' },
    });
    assert.equal(cancelled.status, 200, cancelled.text);

    const resumed = await engine.waitForResume(waiting);
    assert.equal(resumed.status, 'success', resumed.error?.message);
    const [approved, rejected, timedOut] = outputs(resumed);
    assert.equal(approved!.length, 0, 'never Approved');
    assert.equal(timedOut!.length, 0);
    assert.equal(rejected!.length, 1);
    const item = rejected![0]!;
    assert.equal(item.status, 'cancelled');
    assert.equal(item.outcome_reason, 'cancelled');
    assert.equal(item.cancel_reason, 'superseded by v2.1');
    assert.equal(item.cancelled_by, 'n8n-contractor');
    assert.equal(item.wait_timeout, false);
    assert.deepEqual(item.approved_by, ['alice']);
    assert.equal(item.links, undefined);
    assert.deepEqual(resumed.jsonOf('On Rejected').map((j) => j.tag), ['On Rejected@m1'], 'item pairing kept');
    assert.deepEqual(resumed.executedNodes, [GATE, 'On Rejected']);
    // A late click is refused.
    assert.equal(await decide(notification, 'bob', 'approve'), 409);
  });

  it("the service's deadline → Timed Out (its callback approval.timed_out), even with one approval in", async () => {
    const at = new Date(Date.now() + 1500).toISOString();
    const waiting = await engine.run(gateWorkflow({ deadlineType: 'at', deadlineAt: at, options: { notifyUrl: notify.url, waitLimitMargin: 60 } }), ITEM);
    assert.equal(waiting.status, 'waiting', waiting.error?.message);
    const notification = await notificationFor(waiting);
    assert.equal(notification.deadline, at);
    assert.equal(await decide(notification, 'alice', 'approve'), 200);
    const resumed = await engine.waitForResume(waiting, 15_000);
    const [approved, rejected, timedOut] = outputs(resumed);
    assert.equal(approved!.length, 0, 'never Approved');
    assert.equal(rejected!.length, 0);
    assert.equal(timedOut![0]!.status, 'timed_out');
    assert.equal(timedOut![0]!.wait_timeout, false);
    assert.deepEqual(timedOut![0]!.approved_by, ['alice']);
    assert.deepEqual(resumed.jsonOf('On Timed Out').map((j) => j.tag), ['On Timed Out@m1']);
    // A late click is refused.
    assert.equal(await decide(notification, 'bob', 'approve'), 410);
  });

  it("n8n's own wait limit → Timed Out with wait_timeout, never Approved, even if the approvers approved meanwhile", async () => {
    const waiting = await engine.run(gateWorkflow({ requiredApprovals: 1 }), ITEM);
    const notification = await notificationFor(waiting);
    // The service cannot reach n8n (its callback is lost): n8n's wait tracker ends the wait.
    const resumed = await engine.resumeAfterWaitLimit(waiting);
    assert.equal(resumed.status, 'success', resumed.error?.message);
    const [approved, rejected, timedOut] = outputs(resumed);
    assert.equal(approved!.length, 0);
    assert.equal(rejected!.length, 0);
    assert.equal(timedOut!.length, 1);
    assert.equal(timedOut![0]!.wait_timeout, true);
    assert.equal(timedOut![0]!.approval_id, notification.approval_id);
    assert.equal(timedOut![0]!.status, 'pending', 'the approval as it was when the wait began');
    assert.deepEqual(resumed.jsonOf('On Timed Out').map((j) => j.tag), ['On Timed Out@m1']);
    assert.deepEqual(resumed.executedNodes, [GATE, 'On Timed Out']);

    // An approval arriving after n8n gave up cannot resume the finished execution.
    assert.equal(await decide(notification, 'alice', 'approve'), 200);
    await eventually(async () =>
      service.logs.some((line) => line.includes('delivery failed; retry scheduled') && line.includes(String(notification.subscription_id)) && line.includes('"status":409')),
    );
    await assert.rejects(engine.resumeAfterWaitLimit(waiting), /is not waiting/);
  });

  it('a callback that is not an approval outcome, or for a pending approval, leaves it waiting', async () => {
    const waiting = await engine.run(gateWorkflow(), ITEM);
    const notification = await notificationFor(waiting);
    const ignored = await engine.resume(waiting, { webhookBody: { type: 'handoff.completed', data: {} } });
    assert.equal(ignored.status, 'waiting');
    assert.deepEqual(ignored.webhookResponse, { resumed: false, reason: 'not an approval outcome: handoff.completed' });
    // A forged "approved" body for an approval that is still pending: the node reads the service.
    const forged = await engine.resume(waiting, { webhookBody: { type: 'approval.approved', data: { approval: { approval_id: notification.approval_id, status: 'approved' } } } });
    assert.equal(forged.status, 'waiting');
    assert.deepEqual(forged.webhookResponse, { resumed: false, reason: `approval ${String(notification.approval_id)} is pending` });
    const forgedCancel = await engine.resume(waiting, { webhookBody: { type: 'approval.cancelled', data: { approval: { approval_id: notification.approval_id } } } });
    assert.equal(forgedCancel.status, 'waiting');
    assert.deepEqual(forgedCancel.webhookResponse, { resumed: false, reason: `approval ${String(notification.approval_id)} is pending` });
    assert.equal(await decide(notification, 'bob', 'reject'), 200);
    const resumed = await engine.waitForResume(waiting);
    assert.deepEqual(resumed.jsonOf('On Rejected').map((j) => j.tag), ['On Rejected@m1']);
  });

  it('refuses more than one item and bad parameters with a NodeOperationError; creates nothing', async () => {
    const countApprovals = async () => ((await service.call('GET', '/v1/approvals?limit=500')).body.items as IDataObject[]).length;
    const approvalsBefore = await countApprovals();
    const many = await engine.run(gateWorkflow(), { startNodeData: [{ json: {} }, { json: {} }] });
    assert.equal(many.status, 'error');
    assert.equal(many.error?.name, 'NodeOperationError');
    assert.equal(many.error?.message, 'The Approval Gate waits for one approval per execution, but got 2 items');
    assert.equal((many.error as NodeOperationError).context.itemIndex, 1);

    const noApprovers = await engine.run(gateWorkflow({ approvers: ' , ' }), ITEM);
    assert.equal(noApprovers.error?.message, 'Approvers is required');
    const unknownGroup = await engine.run(gateWorkflow({ approvers: 'group:nobody' }), ITEM);
    assert.equal(unknownGroup.error?.name, 'NodeApiError');
    assert.match(String(unknownGroup.error?.message), /no approver group "nobody"/);
    const badNotifyUrl = await engine.run(gateWorkflow({ options: { notifyUrl: 'ftp://example.com/x' } }), ITEM);
    assert.equal(badNotifyUrl.error?.name, 'NodeOperationError');
    assert.equal(badNotifyUrl.error?.message, 'Notify URL must be an http(s) URL');
    assert.equal(await countApprovals(), approvalsBefore, 'no approval was created');
  });

  it('a Notify URL that cannot be reached: a NodeApiError naming it, without the approvers\' signed links', async () => {
    const down = 'http://127.0.0.1:1/notify';
    const result = await engine.run(gateWorkflow({ options: { notifyUrl: down } }), ITEM);
    assert.equal(result.status, 'error');
    assert.equal(result.error?.name, 'NodeApiError');
    assert.equal(result.error?.message, `Could not notify the approvers through ${down}`);
    const seen = JSON.stringify(result.error, Object.getOwnPropertyNames(result.error));
    assert.doesNotMatch(seen, /[?&]sig=/, 'no signed approver link in the error');
  });
});
