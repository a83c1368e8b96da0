// Approvals through the service's API and page routes, on a real service (loopback, a real
// SQLite file) with a real callback receiver: creation (groups, validation, links, callback
// subscription), who may create and read, N-of-M counting, one decision per approver,
// nothing after the outcome, rejection rules, the deadline through the timer sweeper (and a
// decision that comes after the deadline but before the sweeper), the signed callbacks,
// the history, idempotent creation, and the page's answers to links (checked with plain
// HTTP here; approval-page.test.ts drives the page in a real browser).

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ConfigError, loadConfig, parseApproverGroups } from '../../service/src/config.ts';
import { ApprovalLinks } from '../../service/src/domain/approval-links.ts';
import { verifyWebhook } from '../../service/src/domain/webhook-signature.ts';
import { eventually, startCallbackReceiver, startTestService, type CallbackReceiver, type TestService } from './harness.ts';
import { TEST_DATABASE_URL, assertPostgresReachable, dropSchemas, freshSchemaName } from './pg.ts';

const GROUPS = 'sre=alice,bob;security=carol,alice';

/** A clock the test moves; starts at the real time. */
const clock = { offset: 0, now: () => Date.now() + clock.offset };

let service: TestService;
let receiver: CallbackReceiver;

before(async () => {
  service = await startTestService({ CORTEX_APPROVER_GROUPS: GROUPS, CORTEX_APPROVAL_LINK_SECRET: 'approval-link-secret-for-tests-0001' }, { clock });
  receiver = await startCallbackReceiver('/resume/1?signature=x');
});

after(async () => {
  await receiver.close();
  await service.stop();
});

function body(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    title: 'Deploy cluster prod-eu',
    description: 'Roll out **v1.31** to `prod-eu`.',
    context: { cluster: 'prod-eu', nodes: 3 },
    approvers: ['alice', 'bob', 'carol'],
    required_approvals: 2,
    deadline: 3600,
    ...overrides,
  };
}

async function create(overrides: Record<string, unknown> = {}, as: 'admin' | 'n8n-contractor' | 'talos-contractor' = 'n8n-contractor') {
  const reply = await service.call('POST', '/v1/approvals', { as, body: body(overrides) });
  assert.equal(reply.status, 201, reply.text);
  return reply.body;
}

async function decide(id: string, approver: string, decision: 'approve' | 'reject', comment?: string) {
  return await service.call('POST', `/v1/approvals/${id}/decisions`, { body: { approver, decision, ...(comment ? { comment } : {}) } });
}

async function events(id: string): Promise<{ type: string; actor: string; data: Record<string, unknown> }[]> {
  const reply = await service.call('GET', `/v1/approvals/${id}/events`, { as: 'n8n-contractor' });
  assert.equal(reply.status, 200, reply.text);
  return reply.body.items;
}

describe('creating approvals', () => {
  it('answers 201 with the approval, its per-approver links and the callback secret', async () => {
    const approval = await create({ callback_url: receiver.url });
    assert.match(approval.approval_id, /^apr_[0-9a-f]{32}$/);
    assert.equal(approval.status, 'pending');
    assert.deepEqual(approval.approvers.map((a: { approver: string; status: string }) => [a.approver, a.status]), [
      ['alice', 'pending'],
      ['bob', 'pending'],
      ['carol', 'pending'],
    ]);
    assert.equal(approval.required_approvals, 2);
    assert.equal(approval.reject_on_first_rejection, true);
    assert.equal(approval.created_by, 'n8n-contractor');
    assert.deepEqual(approval.context, { cluster: 'prod-eu', nodes: 3 });
    const deadline = Date.parse(approval.deadline) - Date.now();
    assert.ok(deadline > 3590_000 && deadline <= 3600_000);
    assert.equal(approval.links.length, 3);
    for (const link of approval.links) {
      const url = new URL(link.url);
      assert.equal(url.origin, service.url);
      assert.equal(url.pathname, `/approvals/${approval.approval_id}/decide`);
      assert.equal(url.searchParams.get('approver'), link.approver);
      assert.equal(url.searchParams.get('expires'), String(Math.ceil(Date.parse(approval.deadline) / 1000)));
      assert.match(url.searchParams.get('sig') ?? '', /^[A-Za-z0-9_-]{43}$/);
    }
    assert.match(approval.callback.secret, /^whsec_/);
    assert.equal(approval.callback.subscription_id, approval.subscription_id);
    const subscription = await service.call('GET', `/v1/subscriptions/${approval.subscription_id}`, { as: 'n8n-contractor' });
    assert.equal(subscription.status, 200);
    assert.deepEqual(subscription.body.filter, { approval_id: approval.approval_id });
    assert.deepEqual(subscription.body.events, ['approval.approved', 'approval.rejected', 'approval.timed_out', 'approval.cancelled']);
    assert.equal(subscription.body.url, receiver.url);
  });

  it('expands groups (CORTEX_APPROVER_GROUPS), drops duplicates and takes an ISO deadline', async () => {
    const at = new Date(Date.now() + 7200_000).toISOString();
    const approval = await create({ approvers: ['group:sre', 'carol', 'group:security'], required_approvals: 3, deadline: at });
    assert.deepEqual(approval.approvers.map((a: { approver: string }) => a.approver), ['alice', 'bob', 'carol']);
    assert.deepEqual(approval.approvers_requested, ['group:sre', 'carol', 'group:security']);
    assert.equal(approval.deadline, at);
  });

  it('refuses bad input with 400 naming the field', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ approvers: ['group:nobody'] }, 'body.approvers.0'],
      [{ approvers: ['alice'], required_approvals: 2 }, 'body.required_approvals'],
      [{ deadline: new Date(Date.now() - 1000).toISOString() }, 'body.deadline'],
      [{ deadline: 0 }, 'body.deadline'],
      [{ deadline: 'tomorrow' }, 'body.deadline'],
      [{ approvers: [] }, 'body.approvers'],
      [{ approvers: ['<script>'] }, 'body.approvers.0'],
      [{ title: '' }, 'body.title'],
      [{ callback_url: 'ftp://x' }, 'body.callback_url'],
      [{ extra: 1 }, 'body.extra'],
    ];
    for (const [overrides, path] of cases) {
      const reply = await service.call('POST', '/v1/approvals', { as: 'n8n-contractor', body: body(overrides) });
      assert.equal(reply.status, 400, `${JSON.stringify(overrides)}: ${reply.text}`);
      assert.ok(reply.body.error.details.some((d: { path: string }) => d.path === path), `${JSON.stringify(overrides)}: ${reply.text}`);
    }
  });

  it('replays a create with the same Idempotency-Key: one approval, one subscription, the same secret', async () => {
    const headers = { 'idempotency-key': `create-${Date.now()}` };
    const first = await service.call('POST', '/v1/approvals', { as: 'n8n-contractor', body: body({ callback_url: receiver.url }), headers });
    const second = await service.call('POST', '/v1/approvals', { as: 'n8n-contractor', body: body({ callback_url: receiver.url }), headers });
    assert.equal(first.status, 201);
    assert.equal(second.status, 201);
    assert.equal(second.headers.get('idempotent-replayed'), 'true');
    assert.equal(second.body.approval_id, first.body.approval_id);
    assert.deepEqual(second.body.callback, first.body.callback);
    const subscriptions = await service.call('GET', '/v1/subscriptions', { as: 'n8n-contractor' });
    assert.equal(subscriptions.body.items.filter((s: { filter: { approval_id?: string } }) => s.filter.approval_id === first.body.approval_id).length, 1);
  });
});

describe('who may create, read and decide', () => {
  it('any token creates; its creator and the admin read; others get 403; no token 401', async () => {
    const approval = await create({}, 'talos-contractor');
    assert.equal((await service.call('GET', `/v1/approvals/${approval.approval_id}`, { as: 'talos-contractor' })).status, 200);
    assert.equal((await service.call('GET', `/v1/approvals/${approval.approval_id}`, { as: 'admin' })).status, 200);
    assert.equal((await service.call('GET', `/v1/approvals/${approval.approval_id}`, { as: 'n8n-contractor' })).status, 403);
    assert.equal((await service.call('GET', `/v1/approvals/${approval.approval_id}/events`, { as: 'n8n-contractor' })).status, 403);
    assert.equal((await service.call('GET', `/v1/approvals/${approval.approval_id}`, { as: null })).status, 401);
    assert.equal((await service.call('POST', '/v1/approvals', { as: null, body: body() })).status, 401);
    assert.equal((await service.call('GET', '/v1/approvals/apr_missing', { as: 'admin' })).status, 404);
  });

  it('only the admin token records a decision through the API (the creator cannot approve its own request)', async () => {
    const approval = await create();
    const reply = await service.call('POST', `/v1/approvals/${approval.approval_id}/decisions`, {
      as: 'n8n-contractor',
      body: { approver: 'alice', decision: 'approve' },
    });
    assert.equal(reply.status, 403);
    assert.equal((await service.call('GET', `/v1/approvals/${approval.approval_id}`)).body.decisions.length, 0);
  });

  it('a contractor subscribes to approval events only for approvals it created', async () => {
    const mine = await create();
    const theirs = await create({}, 'talos-contractor');
    const subscribe = (filter: Record<string, string>) =>
      service.call('POST', '/v1/subscriptions', { as: 'n8n-contractor', body: { url: receiver.url, events: ['approval.approved'], filter } });
    assert.equal((await subscribe({ approval_id: mine.approval_id })).status, 201);
    assert.equal((await subscribe({ approval_id: theirs.approval_id })).status, 403);
    assert.equal((await subscribe({})).status, 403);
  });
});

describe('decisions and outcomes', () => {
  it('2 of 3 approve: approved, with each decision recorded and the signed callback delivered once', async () => {
    const approval = await create({ callback_url: receiver.url });
    const id = approval.approval_id;
    const first = await decide(id, 'alice', 'approve', 'looks good');
    assert.equal(first.status, 200, first.text);
    assert.equal(first.body.status, 'pending');
    assert.equal(first.body.approvals, 1);
    const second = await decide(id, 'carol', 'approve');
    assert.equal(second.body.status, 'approved');
    assert.equal(second.body.outcome_reason, 'approvals_reached');
    assert.deepEqual(second.body.approved_by, ['alice', 'carol']);
    assert.deepEqual(second.body.approvers.map((a: { approver: string; status: string; comment: string | null }) => [a.approver, a.status, a.comment]), [
      ['alice', 'approved', 'looks good'],
      ['bob', 'pending', null],
      ['carol', 'approved', null],
    ]);
    assert.ok(second.body.finished_at);

    const call = await eventually(async () => receiver.calls.find((c) => c.body.includes(id)));
    const payload = JSON.parse(call.body);
    assert.equal(payload.type, 'approval.approved');
    assert.equal(payload.data.approval.approval_id, id);
    assert.deepEqual(payload.data.approval.decisions.map((d: { approver: string; comment: string | null }) => [d.approver, d.comment]), [
      ['alice', 'looks good'],
      ['carol', null],
    ]);
    const verified = verifyWebhook(
      approval.callback.secret,
      { id: call.headers['webhook-id'], timestamp: call.headers['webhook-timestamp'], signature: call.headers['webhook-signature'] },
      call.body,
      Math.floor(Date.now() / 1000),
    );
    assert.deepEqual(verified, { ok: true });
    // Delivered: the callback subscription is retired.
    await eventually(async () => (await service.call('GET', `/v1/subscriptions/${approval.subscription_id}`, { as: 'n8n-contractor' })).status === 404);

    const history = await events(id);
    assert.deepEqual(history.map((e) => [e.type, e.actor]), [
      ['approval.created', 'n8n-contractor'],
      ['approval.decision', 'alice'],
      ['approval.decision', 'carol'],
      ['approval.approved', 'carol'],
    ]);
    assert.deepEqual(history[1]!.data, { status: 'pending', version: 2, approver: 'alice', decision: 'approve', comment: 'looks good', via: 'api', recorded_by: 'admin' });
    assert.deepEqual(history[3]!.data.approved_by, ['alice', 'carol']);
  });

  it('the same approver cannot count twice (409), and nothing is recorded for the second try', async () => {
    const { approval_id: id } = await create();
    assert.equal((await decide(id, 'alice', 'approve')).status, 200);
    const again = await decide(id, 'alice', 'approve');
    assert.equal(again.status, 409);
    assert.equal(again.body.error.code, 'already_decided');
    const changed = await decide(id, 'alice', 'reject');
    assert.equal(changed.status, 409);
    const now = await service.call('GET', `/v1/approvals/${id}`);
    assert.equal(now.body.status, 'pending');
    assert.equal(now.body.decisions.length, 1);
  });

  it('a decision after the outcome is refused (409) and changes nothing', async () => {
    const { approval_id: id } = await create({ required_approvals: 1 });
    assert.equal((await decide(id, 'bob', 'approve')).body.status, 'approved');
    const late = await decide(id, 'carol', 'reject');
    assert.equal(late.status, 409);
    assert.equal(late.body.error.code, 'approval_decided');
    const now = await service.call('GET', `/v1/approvals/${id}`);
    assert.equal(now.body.status, 'approved');
    assert.deepEqual(now.body.rejected_by, []);
  });

  it('someone not on the list is refused (403)', async () => {
    const { approval_id: id } = await create();
    const reply = await decide(id, 'mallory', 'approve');
    assert.equal(reply.status, 403);
    assert.equal(reply.body.error.code, 'not_an_approver');
  });

  it('one rejection rejects by default; the callback says approval.rejected', async () => {
    const approval = await create({ callback_url: receiver.url });
    await decide(approval.approval_id, 'alice', 'approve');
    const rejected = await decide(approval.approval_id, 'bob', 'reject', 'not during the freeze');
    assert.equal(rejected.body.status, 'rejected');
    assert.equal(rejected.body.outcome_reason, 'rejected');
    assert.deepEqual(rejected.body.rejected_by, ['bob']);
    const call = await eventually(async () => receiver.calls.find((c) => c.body.includes(approval.approval_id)));
    assert.equal(JSON.parse(call.body).type, 'approval.rejected');
  });

  it('without reject_on_first_rejection it rejects only once N approvals cannot be reached', async () => {
    const { approval_id: id } = await create({ reject_on_first_rejection: false, approvers: ['alice', 'bob', 'carol', 'group:sre'], required_approvals: 2 });
    assert.equal((await decide(id, 'alice', 'reject')).body.status, 'pending', '2 of the 2 others can still approve');
    const second = await decide(id, 'bob', 'reject');
    assert.equal(second.body.status, 'rejected');
    assert.equal(second.body.outcome_reason, 'approval_impossible');

    const other = await create({ reject_on_first_rejection: false });
    await decide(other.approval_id, 'alice', 'reject');
    await decide(other.approval_id, 'bob', 'approve');
    assert.equal((await decide(other.approval_id, 'carol', 'approve')).body.status, 'approved', 'N approvals despite a rejection');
  });
});

describe('the deadline', () => {
  it('fires through the timer sweeper: timed_out, approval.timed_out delivered, no decision afterwards', async () => {
    const approval = await create({ deadline: 1, callback_url: receiver.url });
    const id = approval.approval_id;
    await decide(id, 'alice', 'approve');
    const call = await eventually(async () => receiver.calls.find((c) => c.body.includes(id)), 5000);
    const payload = JSON.parse(call.body);
    assert.equal(payload.type, 'approval.timed_out');
    assert.equal(payload.data.approval.status, 'timed_out');
    assert.equal(payload.data.approval.outcome_reason, 'deadline');
    const late = await decide(id, 'bob', 'approve');
    assert.equal(late.status, 409);
    assert.equal(late.body.error.code, 'approval_decided');
    assert.equal((await service.call('GET', `/v1/approvals/${id}`)).body.status, 'timed_out');
    const history = await events(id);
    assert.deepEqual(history.map((e) => [e.type, e.actor]), [
      ['approval.created', 'n8n-contractor'],
      ['approval.decision', 'alice'],
      ['approval.timed_out', 'cortex'],
    ]);
  });

  it('a decision after the deadline but before the sweeper fired is refused: a late approval never approves', async () => {
    const approval = await create({ deadline: 60, required_approvals: 1 });
    const id = approval.approval_id;
    const link = new URL(approval.links[0].url);
    clock.offset = 61_000;
    try {
      const late = await decide(id, 'alice', 'approve');
      assert.equal(late.status, 409);
      assert.equal(late.body.error.code, 'approval_expired');
      const page = await fetch(link.toString().replace(link.origin, service.url));
      assert.equal(page.status, 410);
      const post = await fetch(`${service.url}${link.pathname}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ approver: 'alice', expires: link.searchParams.get('expires')!, sig: link.searchParams.get('sig')!, decision: 'approve' }).toString(),
      });
      assert.equal(post.status, 410);
      // The sweeper (it runs on the same moved clock) may have timed it out meanwhile; never approved.
      assert.notEqual((await service.call('GET', `/v1/approvals/${id}`)).body.status, 'approved');
      await service.service.sweepNow();
      assert.equal((await service.call('GET', `/v1/approvals/${id}`)).body.status, 'timed_out');
    } finally {
      clock.offset = 0;
    }
  });
});

describe('the page over plain HTTP', () => {
  it('GET shows and never decides; POST with the signed values decides; a reused link is "already decided"', async () => {
    const approval = await create({ required_approvals: 2 });
    const link = new URL(approval.links[1].url);
    for (let i = 0; i < 3; i++) {
      const get = await fetch(link);
      assert.equal(get.status, 200);
      const head = await fetch(link, { method: 'HEAD' });
      assert.equal(head.status, 200);
    }
    assert.equal((await service.call('GET', `/v1/approvals/${approval.approval_id}`)).body.decisions.length, 0, 'GET and HEAD decide nothing');
    const form = new URLSearchParams({ approver: 'bob', expires: link.searchParams.get('expires')!, sig: link.searchParams.get('sig')!, decision: 'approve', comment: 'ok' });
    const post = (extra: Record<string, string> = {}) =>
      fetch(`${service.url}${link.pathname}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...extra }, body: form.toString() });
    assert.equal((await post({ origin: 'https://evil.example' })).status, 403, 'another origin');
    const decided = await post({ origin: service.url });
    assert.equal(decided.status, 200);
    assert.match(await decided.text(), /your approval is recorded/);
    const again = await post();
    assert.equal(again.status, 409);
    assert.match(await again.text(), /Already decided/);
    const reopened = await fetch(link);
    assert.equal(reopened.status, 200);
    assert.match(await reopened.text(), /You approved this request/);
    const state = (await service.call('GET', `/v1/approvals/${approval.approval_id}`)).body;
    assert.deepEqual(state.decisions.map((d: { approver: string; via: string; comment: string }) => [d.approver, d.via, d.comment]), [['bob', 'link', 'ok']]);
  });

  it('a tampered or incomplete link is 403, and answers carry a strict CSP', async () => {
    const approval = await create();
    const link = new URL(approval.links[0].url);
    const variants = [
      (u: URL) => u.searchParams.set('approver', 'bob'),
      (u: URL) => u.searchParams.set('expires', String(Number(u.searchParams.get('expires')) + 3600)),
      // Change the first character (it carries 6 whole bits of the MAC): a fixed last character can equal the
      // original, and base64url's last character also carries 2 padding bits a lenient decoder ignores.
      (u: URL) => {
        const sig = u.searchParams.get('sig')!;
        u.searchParams.set('sig', `${sig[0] === 'A' ? 'B' : 'A'}${sig.slice(1)}`);
      },
      (u: URL) => u.searchParams.delete('sig'),
      (u: URL) => (u.pathname = u.pathname.replace(approval.approval_id, 'apr_other')),
    ];
    for (const change of variants) {
      const tampered = new URL(link);
      change(tampered);
      const reply = await fetch(tampered);
      assert.equal(reply.status, 403, tampered.toString());
      assert.match(reply.headers.get('content-security-policy') ?? '', /default-src 'none'/);
    }
    const ok = await fetch(link);
    assert.match(ok.headers.get('content-security-policy') ?? '', /form-action 'self'/);
    assert.equal(ok.headers.get('cache-control'), 'no-store');
    assert.equal(ok.headers.get('referrer-policy'), 'same-origin');
  });

  it('escapes user text and renders the markdown subset safely', async () => {
    const approval = await create({
      title: '<img src=x onerror=alert(1)> deploy',
      description: '# Plan\n- step <b>one</b>\n- [docs](https://example.test/a?b=1&c="x")\n[bad](javascript:alert(1))\n\n`<script>`',
      context: { note: '</pre><script>alert(1)</script>' },
    });
    const html = await (await fetch(approval.links[0].url)).text();
    assert.doesNotMatch(html, /<img|<script|<b>/);
    assert.match(html, /&lt;img src=x onerror=alert\(1\)&gt; deploy/);
    assert.match(html, /<h3>Plan<\/h3>/);
    assert.match(html, /<li>step &lt;b&gt;one&lt;\/b&gt;<\/li>/);
    assert.match(html, /<a href="https:\/\/example.test\/a\?b=1&amp;c=&quot;x&quot;" rel="noopener noreferrer nofollow">docs<\/a>/);
    assert.doesNotMatch(html, /href="javascript/);
    assert.match(html, /<code>&lt;script&gt;<\/code>/);
    assert.match(html, /&lt;\/pre&gt;&lt;script&gt;/);
  });
});

describe('configuration', () => {
  it('parses approver groups and refuses malformed ones', () => {
    assert.deepEqual([...parseApproverGroups('sre=alice,bob; security = carol ,alice@example.com')], [
      ['sre', ['alice', 'bob']],
      ['security', ['carol', 'alice@example.com']],
    ]);
    for (const bad of ['sre', 'sre=', 'Sre=a', 'sre=a;sre=b', 'sre=a b']) {
      assert.throws(() => parseApproverGroups(bad), ConfigError, bad);
    }
    assert.throws(() => loadConfig({ CORTEX_APPROVAL_LINK_SECRET: 'short' }), /at least 32/);
    assert.throws(() => loadConfig({ CORTEX_PUBLIC_URL: 'not a url' }), /CORTEX_PUBLIC_URL/);
    assert.equal(loadConfig({ CORTEX_PUBLIC_URL: 'https://cortex.example/' }).publicUrl, 'https://cortex.example');
  });

  it('links are bound to the approval, the approver and the expiry, and expire', () => {
    const links = new ApprovalLinks('k'.repeat(32), () => 'https://cortex.example');
    const sig = links.sign('apr_1', 'alice', 2000);
    assert.deepEqual(links.check('apr_1', { approver: 'alice', expires: '2000', sig }, 1_999_000), { ok: true });
    assert.deepEqual(links.check('apr_1', { approver: 'alice', expires: '2000', sig }, 2_000_000), { ok: false, reason: 'expired' });
    assert.deepEqual(links.check('apr_2', { approver: 'alice', expires: '2000', sig }, 0), { ok: false, reason: 'bad_signature' });
    assert.deepEqual(links.check('apr_1', { approver: 'bob', expires: '2000', sig }, 0), { ok: false, reason: 'bad_signature' });
    assert.deepEqual(links.check('apr_1', { approver: 'alice', expires: '2001', sig }, 0), { ok: false, reason: 'bad_signature' });
    assert.deepEqual(links.check('apr_1', { approver: 'alice', expires: '2e3', sig }, 0), { ok: false, reason: 'malformed' });
    assert.deepEqual(links.check('apr_1', { approver: ['alice'], expires: '2000', sig }, 0), { ok: false, reason: 'malformed' });
    const other = new ApprovalLinks('j'.repeat(32), () => '');
    assert.deepEqual(other.check('apr_1', { approver: 'alice', expires: '2000', sig }, 0), { ok: false, reason: 'bad_signature' });
    assert.equal(links.linksOf({ approval_id: 'apr_1', deadline_at: 1_999_500, approvers: ['a b'] })[0]!.url, `https://cortex.example/approvals/apr_1/decide?approver=a+b&expires=2000&sig=${links.sign('apr_1', 'a b', 2000)}`);
  });
});

describe('on PostgreSQL', () => {
  let pgService: TestService;
  before(async () => {
    await assertPostgresReachable();
    pgService = await startTestService({
      CORTEX_DATABASE_URL: TEST_DATABASE_URL,
      CORTEX_DATABASE_SCHEMA: freshSchemaName('approvals'),
      CORTEX_APPROVER_GROUPS: GROUPS,
    });
  });
  after(async () => {
    await pgService?.stop();
    await dropSchemas();
  });

  it('N of M with the callback created in the same transaction, one decision per approver, and the deadline', async () => {
    const created = await pgService.call('POST', '/v1/approvals', { as: 'n8n-contractor', body: body({ approvers: ['group:sre', 'carol'], callback_url: receiver.url }) });
    assert.equal(created.status, 201, created.text);
    const id = created.body.approval_id;
    const decideOn = (approver: string, decision: string) => pgService.call('POST', `/v1/approvals/${id}/decisions`, { body: { approver, decision } });
    assert.equal((await decideOn('bob', 'approve')).body.status, 'pending');
    assert.equal((await decideOn('bob', 'approve')).status, 409);
    const [a, b] = await Promise.all([decideOn('alice', 'approve'), decideOn('carol', 'approve')]);
    assert.deepEqual([a.status, b.status].sort(), [200, 409], 'one wins; the other comes after the outcome');
    assert.ok([a, b].some((r) => r.status === 200 && r.body.status === 'approved'));
    assert.ok([a, b].some((r) => r.status === 409 && r.body.error.code === 'approval_decided'));
    const call = await eventually(async () => receiver.calls.find((c) => c.body.includes(id)));
    assert.equal(JSON.parse(call.body).type, 'approval.approved');
    await eventually(async () => (await pgService.call('GET', `/v1/subscriptions/${created.body.subscription_id}`, { as: 'n8n-contractor' })).status === 404);

    const short = await pgService.call('POST', '/v1/approvals', { as: 'n8n-contractor', body: body({ deadline: 1 }) });
    await eventually(async () => (await pgService.call('GET', `/v1/approvals/${short.body.approval_id}`)).body.status === 'timed_out', 5000);
    const history = await pgService.call('GET', `/v1/approvals/${short.body.approval_id}/events`, { as: 'n8n-contractor' });
    assert.deepEqual(history.body.items.map((e: { type: string }) => e.type), ['approval.created', 'approval.timed_out']);
  });
});
