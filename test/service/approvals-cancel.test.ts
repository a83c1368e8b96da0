// POST /v1/approvals/{id}/cancel on a real service (loopback, a real SQLite file; then
// PostgreSQL) with a real callback receiver: who may cancel (creator, admin; others 403,
// unknown 404, no token 401), only while pending (twice, after an outcome, after the deadline:
// 409), the history event, the deadline timer cleared, approval.cancelled delivered signed to
// the callback (which is then retired), decisions afterwards refused through the API and the
// link, idempotent retries, and bad input as 400s naming the field.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { verifyWebhook } from '../../service/src/domain/webhook-signature.ts';
import { eventually, startCallbackReceiver, startTestService, type CallbackReceiver, type ContractorName, type TestService } from './harness.ts';
import { TEST_DATABASE_URL, assertPostgresReachable, dropSchemas, freshSchemaName } from './pg.ts';

type Who = ContractorName | 'admin';

/** A clock the tests move; starts at the real time. */
const clock = { offset: 0, now: () => Date.now() + clock.offset };

let receiver: CallbackReceiver;
before(async () => {
  receiver = await startCallbackReceiver('/resume/1?signature=x');
});
after(async () => {
  await receiver.close();
});

function cancelSuite(name: string, start: () => Promise<TestService>): void {
  describe(`cancelling approvals (${name})`, () => {
    let svc: TestService;
    before(async () => {
      svc = await start();
    });
    after(async () => {
      await svc?.stop();
    });

    async function create(overrides: Record<string, unknown> = {}, as: Who = 'n8n-contractor') {
      const reply = await svc.call('POST', '/v1/approvals', { as, body: { title: 'Deploy', approvers: ['alice', 'bob'], required_approvals: 2, deadline: 3600, ...overrides } });
      assert.equal(reply.status, 201, reply.text);
      return reply.body;
    }
    const cancel = (id: string, as: Who | null, body: unknown = {}, headers: Record<string, string> = {}) =>
      svc.call('POST', `/v1/approvals/${id}/cancel`, { as, body, headers });
    const decide = (id: string, approver: string, decision = 'approve') => svc.call('POST', `/v1/approvals/${id}/decisions`, { body: { approver, decision } });

    it('the creator cancels with a reason: cancelled, history, approval.cancelled delivered signed, callback retired', async () => {
      const approval = await create({ callback_url: receiver.url });
      const id = approval.approval_id;
      assert.deepEqual(
        (await svc.call('GET', `/v1/subscriptions/${approval.subscription_id}`, { as: 'n8n-contractor' })).body.events,
        ['approval.approved', 'approval.rejected', 'approval.timed_out', 'approval.cancelled'],
      );
      assert.equal((await decide(id, 'alice')).status, 200);
      const reply = await cancel(id, 'n8n-contractor', { reason: '  release postponed  ' });
      assert.equal(reply.status, 200, reply.text);
      assert.equal(reply.body.status, 'cancelled');
      assert.equal(reply.body.outcome_reason, 'cancelled');
      assert.equal(reply.body.cancelled_by, 'n8n-contractor');
      assert.equal(reply.body.cancel_reason, 'release postponed');
      assert.ok(reply.body.finished_at);
      assert.equal(reply.headers.get('etag'), `"${reply.body.version}"`);

      const call = await eventually(async () => receiver.calls.find((c) => c.body.includes(id)));
      const payload = JSON.parse(call.body);
      assert.equal(payload.type, 'approval.cancelled');
      assert.equal(payload.data.approval.status, 'cancelled');
      assert.equal(payload.data.approval.cancel_reason, 'release postponed');
      assert.deepEqual(payload.data.approval.approved_by, ['alice']);
      const verified = verifyWebhook(
        approval.callback.secret,
        { id: call.headers['webhook-id']!, timestamp: call.headers['webhook-timestamp']!, signature: call.headers['webhook-signature']! },
        call.body,
        Math.floor(Date.now() / 1000),
      );
      assert.deepEqual(verified, { ok: true });
      await eventually(async () => (await svc.call('GET', `/v1/subscriptions/${approval.subscription_id}`, { as: 'n8n-contractor' })).status === 404);

      const history = (await svc.call('GET', `/v1/approvals/${id}/events`, { as: 'n8n-contractor' })).body.items;
      assert.deepEqual(history.map((e: { type: string; actor: string }) => [e.type, e.actor]), [
        ['approval.created', 'n8n-contractor'],
        ['approval.decision', 'alice'],
        ['approval.cancelled', 'n8n-contractor'],
      ]);
      assert.equal(history[2].data.reason, 'release postponed');
      assert.equal(history[2].data.status, 'cancelled');
      assert.deepEqual((await svc.call('GET', `/v1/approvals?status=cancelled`)).body.items.map((a: { approval_id: string }) => a.approval_id).includes(id), true);
    });

    it('the admin cancels any approval; another contractor gets 403, an unknown id 404, no token 401', async () => {
      const approval = await create({}, 'talos-contractor');
      const id = approval.approval_id;
      const other = await cancel(id, 'n8n-contractor', { reason: 'not mine' });
      assert.equal(other.status, 403);
      assert.match(other.body.error.message, /only talos-contractor \(its creator\) or an admin may cancel/);
      assert.equal((await cancel(id, null)).status, 401);
      assert.equal((await cancel('apr_missing', 'admin')).status, 404);
      assert.equal((await svc.call('GET', `/v1/approvals/${id}`)).body.status, 'pending', 'refused attempts change nothing');
      const byAdmin = await cancel(id, 'admin');
      assert.equal(byAdmin.status, 200, byAdmin.text);
      assert.equal(byAdmin.body.cancelled_by, 'admin');
      assert.equal(byAdmin.body.cancel_reason, null);
    });

    it('only while pending: cancelling twice or after an outcome is 409 illegal_transition', async () => {
      const { approval_id: id } = await create();
      assert.equal((await cancel(id, 'n8n-contractor')).status, 200);
      const again = await cancel(id, 'n8n-contractor', { reason: 'again' });
      assert.equal(again.status, 409);
      assert.equal(again.body.error.code, 'illegal_transition');
      assert.equal(again.body.error.message, `cannot cancel approval ${id}: it is cancelled`);
      assert.equal((await svc.call('GET', `/v1/approvals/${id}`)).body.cancel_reason, null, 'the first cancellation stands');

      const decided = await create({ required_approvals: 1 });
      assert.equal((await decide(decided.approval_id, 'bob')).body.status, 'approved');
      const late = await cancel(decided.approval_id, 'admin');
      assert.equal(late.status, 409);
      assert.equal(late.body.error.message, `cannot cancel approval ${decided.approval_id}: it is approved`);
    });

    it('decisions after the cancellation are refused, through the API (409) and through the link (409, no form)', async () => {
      const approval = await create();
      const id = approval.approval_id;
      assert.equal((await cancel(id, 'n8n-contractor', { reason: 'superseded' })).status, 200);
      const viaApi = await decide(id, 'bob');
      assert.equal(viaApi.status, 409);
      assert.equal(viaApi.body.error.code, 'approval_decided');
      assert.equal(viaApi.body.error.message, `approval ${id} is already cancelled`);

      const link = new URL(approval.links[1].url);
      const page = await fetch(link);
      assert.equal(page.status, 200);
      const html = await page.text();
      assert.match(html, /This approval request was cancelled\./);
      assert.match(html, /The reason given: superseded/);
      assert.doesNotMatch(html, /<form/);
      const post = await fetch(`${svc.url}${link.pathname}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ approver: 'bob', expires: link.searchParams.get('expires')!, sig: link.searchParams.get('sig')!, decision: 'approve' }).toString(),
      });
      assert.equal(post.status, 409);
      assert.match(await post.text(), /was cancelled/);
      const now = (await svc.call('GET', `/v1/approvals/${id}`)).body;
      assert.equal(now.status, 'cancelled');
      assert.deepEqual(now.decisions, []);
    });

    it('clears the deadline timer: the deadline passing later fires nothing', async () => {
      const before = await svc.service.store.countTimers();
      const { approval_id: id } = await create({ deadline: 60 });
      assert.equal(await svc.service.store.countTimers(), before + 1);
      assert.equal((await cancel(id, 'n8n-contractor')).status, 200);
      assert.equal(await svc.service.store.countTimers(), before);
      clock.offset = 61_000;
      try {
        await svc.service.sweepNow();
        assert.equal((await svc.call('GET', `/v1/approvals/${id}`)).body.status, 'cancelled');
        const types = (await svc.call('GET', `/v1/approvals/${id}/events`)).body.items.map((e: { type: string }) => e.type);
        assert.deepEqual(types, ['approval.created', 'approval.cancelled']);
      } finally {
        clock.offset = 0;
      }
    });

    it('after the deadline (before the sweeper fired) a cancellation is refused: 409 approval_expired', async () => {
      const { approval_id: id } = await create({ deadline: 60 });
      clock.offset = 61_000;
      try {
        const late = await cancel(id, 'n8n-contractor');
        assert.equal(late.status, 409);
        assert.equal(late.body.error.code, 'approval_expired');
        await svc.service.sweepNow();
        assert.equal((await svc.call('GET', `/v1/approvals/${id}`)).body.status, 'timed_out');
      } finally {
        clock.offset = 0;
      }
    });

    it('a retry with the same Idempotency-Key replays the answer; bad input is a 400 naming the field', async () => {
      const { approval_id: id } = await create();
      const headers = { 'idempotency-key': `cancel-${id}` };
      const first = await cancel(id, 'n8n-contractor', { reason: 'x' }, headers);
      const second = await cancel(id, 'n8n-contractor', { reason: 'x' }, headers);
      assert.equal(first.status, 200);
      assert.equal(second.status, 200);
      assert.equal(second.headers.get('idempotent-replayed'), 'true');
      assert.deepEqual(second.body, first.body);

      const { approval_id: fresh } = await create();
      const cases: [unknown, string][] = [
        [{ reason: 7 }, 'body.reason'],
        [{ reason: 'x'.repeat(2001) }, 'body.reason'],
        [{ why: 'x' }, 'body.why'],
      ];
      for (const [body, path] of cases) {
        const reply = await cancel(fresh, 'n8n-contractor', body);
        assert.equal(reply.status, 400, `${JSON.stringify(body).slice(0, 40)}: ${reply.text}`);
        assert.ok(reply.body.error.details.some((d: { path: string }) => d.path === path), reply.text);
      }
      const badId = await cancel('bad id!', 'admin');
      assert.equal(badId.status, 400);
      assert.ok(badId.body.error.details.some((d: { path: string }) => d.path === 'params.id'), badId.text);
      assert.equal((await svc.call('GET', `/v1/approvals/${fresh}`)).body.status, 'pending');
    });
  });
}

cancelSuite('SQLite', () => startTestService({ CORTEX_DELIVERY_BACKOFF_MS: '100' }, { clock }));

describe('on PostgreSQL', () => {
  before(assertPostgresReachable);
  after(dropSchemas);
  cancelSuite('PostgreSQL', () =>
    startTestService({ CORTEX_DELIVERY_BACKOFF_MS: '100', CORTEX_DATABASE_URL: TEST_DATABASE_URL, CORTEX_DATABASE_SCHEMA: freshSchemaName('approvals_cancel') }, { clock }),
  );
});
