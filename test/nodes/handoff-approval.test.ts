// The Handoff node's Approval resource on the real n8n engine (engine.ts) against a real Cortex
// service: Get (with the links), Get Many (filters, Limit, Return All over several pages, the
// token's scope), Cancel (with a reason; a second cancel, another contractor's approval and a
// missing ID as n8n shows them; continueOnFail; n8n's Retry On Fail after a lost answer replays
// the cancellation through the automatic Idempotency-Key instead of failing with a 409).

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { IDataObject, NodeApiError, NodeOperationError } from 'n8n-workflow';
import { createEngine, type Engine, type RunResult, type WorkflowJson, type WorkflowNodeJson } from './engine.ts';
import { startServiceProxy, type ServiceProxy } from './service-proxy.ts';
import { startTestService, tokenFor, type ContractorName, type TestService } from '../service/harness.ts';

const { CortexApi } = await import('../../credentials/CortexApi.credentials.ts');
const { Handoff } = await import('../../nodes/Handoff/Handoff.node.ts');

const N8N = 'n8n-contractor';
const TALOS = 'talos-contractor';
const START = 'Start';
const NODE = 'Handoff';

const CREDENTIAL = { 'n8n-contractor': '1', 'talos-contractor': '2', admin: '3', proxy: '4' } as const;
type As = keyof typeof CREDENTIAL;

let service: TestService;
let proxy: ServiceProxy;
let engine: Engine;

before(async () => {
  service = await startTestService({ CORTEX_APPROVER_GROUPS: 'sre=alice,bob' });
  proxy = await startServiceProxy(() => service.url);
  const credential = (who: As) => ({
    id: CREDENTIAL[who],
    name: `Cortex (${who})`,
    data: { url: who === 'proxy' ? proxy.url : service.url, token: tokenFor(who === 'proxy' ? N8N : who) },
  });
  engine = createEngine({ nodeTypes: [Handoff], credentialTypes: [CortexApi], credentials: { cortexApi: (Object.keys(CREDENTIAL) as As[]).map(credential) } });
});

after(async () => {
  await engine.close();
  await proxy.close();
  await service.stop();
});

async function run(parameters: Record<string, unknown>, as: As = N8N, items: IDataObject[] = [{}], extra: Partial<WorkflowNodeJson> = {}): Promise<RunResult> {
  const node: WorkflowNodeJson = {
    name: NODE,
    type: 'n8n-nodes-cortex.handoff',
    typeVersion: 1,
    parameters: { resource: 'approval', ...parameters } as WorkflowNodeJson['parameters'],
    credentials: { cortexApi: { id: CREDENTIAL[as], name: `Cortex (${as})` } },
    ...extra,
  };
  const workflow: WorkflowJson = {
    name: 'approval resource test',
    nodes: [{ name: START, type: 'n8n-nodes-base.manualTrigger', parameters: {} }, node],
    connections: { [START]: { main: [[{ node: NODE, type: 'main', index: 0 }]] } },
  };
  return await engine.run(workflow, { startNodeData: items.map((json) => ({ json })) });
}

function succeeded(result: RunResult): void {
  assert.equal(result.status, 'success', `${result.error?.message ?? ''} ${(result.error as NodeApiError | undefined)?.description ?? ''}`);
}

async function createApproval(as: ContractorName | 'admin' = N8N, approvers: string[] = ['alice', 'bob']): Promise<IDataObject> {
  const reply = await service.call('POST', '/v1/approvals', { as, body: { title: 'Deploy', approvers, deadline: 3600 } });
  assert.equal(reply.status, 201, reply.text);
  return reply.body;
}

describe('Approval: get', () => {
  it('gets each item\'s approval (with its links), paired with its item', async () => {
    const [a, b] = [await createApproval(), await createApproval(N8N, ['group:sre'])];
    const result = await run({ operation: 'get', approvalId: '={{ $json.id }}' }, N8N, [{ id: a.approval_id }, { id: b.approval_id }]);
    succeeded(result);
    const [items] = result.outputOf(NODE);
    assert.deepEqual(items?.map((i) => i.pairedItem), [{ item: 0 }, { item: 1 }]);
    assert.deepEqual(items?.[0]?.json, (await service.call('GET', `/v1/approvals/${String(a.approval_id)}`)).body);
    assert.deepEqual((items?.[1]?.json.links as IDataObject[]).map((l) => l.approver), ['alice', 'bob']);

    const notMine = await run({ operation: 'get', approvalId: a.approval_id }, TALOS);
    assert.equal(notMine.status, 'error');
    assert.equal(notMine.error?.name, 'NodeApiError');
    assert.equal((notMine.error as NodeApiError).httpCode, '403');
    assert.equal((notMine.error as NodeApiError).context.itemIndex, 0);
    const missing = await run({ operation: 'get', approvalId: 'apr_missing' });
    assert.equal((missing.error as NodeApiError).httpCode, '404');
  });
});

describe('Approval: get many', () => {
  it('filters, limits, and returns every page with Return All; a contractor sees only its own', async () => {
    const approver = `ops-${randomUUID().slice(0, 8)}`;
    const total = 505; // more than one page of 500
    for (let start = 0; start < total; start += 40) {
      await Promise.all(Array.from({ length: Math.min(40, total - start) }, () => createApproval(N8N, [approver, 'alice'])));
    }
    const theirs = await createApproval(TALOS, [approver]);
    const cancelled = await createApproval(N8N, [approver]);
    assert.equal((await service.call('POST', `/v1/approvals/${String(cancelled.approval_id)}/cancel`, { as: N8N, body: {} })).status, 200);

    const limited = await run({ operation: 'getAll', returnAll: false, limit: 3, filters: { approver, status: 'pending' } }, 'admin');
    succeeded(limited);
    const [items] = limited.outputOf(NODE);
    assert.equal(items?.length, 3);
    assert.deepEqual(items?.map((i) => i.pairedItem), [{ item: 0 }, { item: 0 }, { item: 0 }]);
    const times = items!.map((i) => Date.parse(String(i.json.created_at)));
    assert.deepEqual(times, [...times].sort((x, y) => y - x), 'newest first');
    assert.ok(items?.every((i) => i.json.status === 'pending' && i.json.links === undefined));

    proxy.requests = [];
    const all = await run({ operation: 'getAll', returnAll: true, filters: { approver } }, 'proxy');
    succeeded(all);
    assert.equal(all.jsonOf(NODE).length, total + 1, 'the n8n contractor: its own, every status');
    assert.equal(new Set(all.jsonOf(NODE).map((j) => j.approval_id)).size, total + 1);
    assert.ok(all.jsonOf(NODE).every((j) => j.created_by === N8N));
    const pages = proxy.requests.filter((r) => r.url.startsWith('/v1/approvals?'));
    assert.equal(pages.length, 2, 'two pages');
    assert.match(pages[1]!.url, /cursor=/);

    const onlyCancelled = await run({ operation: 'getAll', returnAll: true, filters: { approver, status: 'cancelled' } });
    assert.deepEqual(onlyCancelled.jsonOf(NODE).map((j) => j.approval_id), [cancelled.approval_id]);
    const byAdmin = await run({ operation: 'getAll', returnAll: true, filters: { approver, createdBy: TALOS } }, 'admin');
    assert.deepEqual(byAdmin.jsonOf(NODE).map((j) => j.approval_id), [theirs.approval_id]);
    const othersAsContractor = await run({ operation: 'getAll', returnAll: true, filters: { approver, createdBy: TALOS } });
    succeeded(othersAsContractor);
    assert.equal(othersAsContractor.jsonOf(NODE).length, 0, 'a contractor sees only the approvals it created');
  });

  it('a group as Approver is a NodeOperationError naming the field and the item; a bad value the service refuses is a NodeApiError', async () => {
    const group = await run({ operation: 'getAll', returnAll: true, filters: { approver: '={{ $json.who }}' } }, N8N, [{ who: 'alice' }, { who: 'group:sre' }]);
    assert.equal(group.status, 'error');
    const error = group.error as NodeOperationError;
    assert.equal(error.name, 'NodeOperationError');
    assert.equal(error.message, 'Approver must be one identity, not a group');
    assert.equal(error.context.itemIndex, 1);

    const bad = await run({ operation: 'getAll', returnAll: false, limit: 5, filters: { createdBy: 'Not A Name' } });
    assert.equal(bad.error?.name, 'NodeApiError');
    assert.equal((bad.error as NodeApiError).httpCode, '400');
    assert.match(String((bad.error as NodeApiError).description), /query\.created_by/);
  });
});

describe('Approval: cancel', () => {
  it('the creator cancels with a reason; a second cancel is a NodeApiError (409) with the service\'s message', async () => {
    const { approval_id: id } = await createApproval();
    const cancelled = await run({ operation: 'cancel', approvalId: id, reason: 'rollout postponed' });
    succeeded(cancelled);
    const item = cancelled.jsonOf(NODE)[0]!;
    assert.equal(item.status, 'cancelled');
    assert.equal(item.cancel_reason, 'rollout postponed');
    assert.equal(item.cancelled_by, N8N);

    const again = await run({ operation: 'cancel', approvalId: id });
    assert.equal(again.status, 'error');
    const error = again.error as NodeApiError;
    assert.equal(error.name, 'NodeApiError');
    assert.equal(error.message, `cannot cancel approval ${String(id)}: it is cancelled`);
    assert.equal(error.httpCode, '409');
    assert.equal(error.description, 'illegal_transition');
    assert.equal(error.context.itemIndex, 0);
  });

  it('with continueOnFail each failing item carries its error (403, missing ID) and the others are cancelled', async () => {
    const mine = await createApproval();
    const theirs = await createApproval(TALOS);
    const result = await run({ operation: 'cancel', approvalId: '={{ $json.id }}', reason: '={{ $json.why }}' }, N8N, [
      { id: mine.approval_id, why: 'dup' },
      { id: theirs.approval_id },
      { id: '' },
    ], { continueOnFail: true });
    succeeded(result);
    const [items] = result.outputOf(NODE);
    assert.deepEqual(items?.map((i) => i.pairedItem), [{ item: 0 }, { item: 1 }, { item: 2 }]);
    assert.equal(items?.[0]?.json.status, 'cancelled');
    assert.equal(items?.[0]?.json.cancel_reason, 'dup');
    assert.deepEqual(items?.[1]?.json, { error: `only ${TALOS} (its creator) or an admin may cancel approval ${String(theirs.approval_id)}` });
    assert.deepEqual(items?.[2]?.json, { error: 'Approval ID is required' });
    assert.equal((await service.call('GET', `/v1/approvals/${String(theirs.approval_id)}`)).body.status, 'pending');

    const stops = await run({ operation: 'cancel', approvalId: '={{ $json.id }}' }, N8N, [{ id: (await createApproval()).approval_id }, { id: '' }]);
    assert.equal(stops.error?.name, 'NodeOperationError');
    assert.equal(stops.error?.message, 'Approval ID is required');
    assert.equal((stops.error as NodeOperationError).context.itemIndex, 1);
  });

  it("n8n's Retry On Fail after a lost answer replays the cancellation (automatic Idempotency-Key), not a 409", async () => {
    const { approval_id: id } = await createApproval();
    let cancels = 0;
    proxy.hook = async (request, forward) => {
      if (request.method !== 'POST' || !request.url.endsWith('/cancel')) return undefined;
      const answer = await forward();
      cancels += 1;
      return cancels === 1 ? { status: 502, headers: { 'content-type': 'application/json' }, body: '{"error":{"code":"bad_gateway","message":"upstream answer lost","details":[]}}' } : answer;
    };
    try {
      const result = await run({ operation: 'cancel', approvalId: id, reason: 'retry' }, 'proxy', [{}], { retryOnFail: true, maxTries: 2, waitBetweenTries: 0 });
      succeeded(result);
      assert.equal(cancels, 2, 'the node was retried');
      const keys = proxy.requests.filter((r) => r.method === 'POST' && r.url.endsWith('/cancel')).slice(-2).map((r) => r.headers['idempotency-key']);
      assert.equal(keys[0], keys[1]);
      assert.equal(result.jsonOf(NODE)[0]?.status, 'cancelled');
    } finally {
      proxy.hook = undefined;
    }
  });
});
