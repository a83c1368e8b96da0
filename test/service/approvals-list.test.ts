// GET /v1/approvals on a real service (loopback, a real SQLite file; then PostgreSQL): newest
// first, cursor pages, the status / created_by / approver filters and their combinations, the
// scope (the admin sees all, a contractor only what it created), no links in list items, and
// bad query parameters as 400s naming the field.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestService, type ContractorName, type TestService } from './harness.ts';
import { TEST_DATABASE_URL, assertPostgresReachable, dropSchemas, freshSchemaName } from './pg.ts';

const GROUPS = 'sre=alice,bob';
type Who = ContractorName | 'admin';

interface Listed {
  approval_id: string;
  status: string;
  created_by: string;
  created_at: string;
  approvers: { approver: string }[];
  links?: unknown;
}

/** Creates the same set on any service: who created it, its approvers, and how it ends. */
async function seed(svc: TestService): Promise<Listed[]> {
  const plan: [Who, string[], 'approve' | 'reject' | null][] = [
    ['n8n-contractor', ['group:sre'], null],
    ['n8n-contractor', ['carol'], 'approve'],
    ['talos-contractor', ['alice', 'carol'], null],
    ['n8n-contractor', ['dave'], 'reject'],
    ['admin', ['group:sre', 'carol'], null],
    ['talos-contractor', ['carol'], 'reject'],
    ['n8n-contractor', ['alice'], null],
  ];
  const created: Listed[] = [];
  for (const [as, approvers, decision] of plan) {
    const reply = await svc.call('POST', '/v1/approvals', { as, body: { title: 'Deploy', approvers, deadline: 3600 } });
    assert.equal(reply.status, 201, reply.text);
    let approval = reply.body;
    if (decision) {
      const decided = await svc.call('POST', `/v1/approvals/${approval.approval_id}/decisions`, { body: { approver: approvers[0] === 'group:sre' ? 'alice' : approvers[0], decision } });
      assert.equal(decided.status, 200, decided.text);
      approval = decided.body;
    }
    created.push(approval);
  }
  // Newest first: created_at, then the id (two may share a millisecond).
  return created.sort((a, b) => Date.parse(b.created_at) - Date.parse(a.created_at) || (a.approval_id < b.approval_id ? 1 : -1));
}

async function listAll(svc: TestService, query: string, as: Who = 'admin', limit = 2): Promise<Listed[]> {
  const items: Listed[] = [];
  let cursor: string | null = null;
  for (let pages = 0; pages < 100; pages++) {
    const reply = await svc.call('GET', `/v1/approvals?limit=${limit}${query ? `&${query}` : ''}${cursor ? `&cursor=${cursor}` : ''}`, { as });
    assert.equal(reply.status, 200, reply.text);
    items.push(...reply.body.items);
    cursor = reply.body.next_cursor;
    if (cursor === null) return items;
    assert.equal(reply.body.items.length, limit, 'a page with a next_cursor is full');
  }
  throw new Error('pagination did not end');
}

const ids = (list: Listed[]) => list.map((a) => a.approval_id);
const approverNames = (a: Listed) => a.approvers.map((x) => x.approver);

function listingSuite(name: string, start: () => Promise<TestService>): void {
  describe(`listing approvals (${name})`, () => {
    let svc: TestService;
    let all: Listed[];
    before(async () => {
      svc = await start();
      all = await seed(svc);
    });
    after(async () => {
      await svc?.stop();
    });

    it('the admin pages through every approval newest first, without links', async () => {
      for (const limit of [1, 2, 7, 50]) assert.deepEqual(ids(await listAll(svc, '', 'admin', limit)), ids(all), `limit ${limit}`);
      const page = await svc.call('GET', '/v1/approvals?limit=3');
      assert.equal(page.body.items.length, 3);
      assert.equal(typeof page.body.next_cursor, 'string');
      for (const item of page.body.items as Listed[]) assert.equal(item.links, undefined, 'links only in GET /v1/approvals/{id}');
      const one = await svc.call('GET', `/v1/approvals/${all[0]!.approval_id}`);
      const { links: _links, ...withoutLinks } = one.body;
      assert.deepEqual(page.body.items[0], withoutLinks, 'otherwise the same view as GET one');
    });

    it('filters by status, creator and approver (groups expanded), alone and combined', async () => {
      for (const status of ['pending', 'approved', 'rejected']) {
        assert.deepEqual(ids(await listAll(svc, `status=${status}`)), ids(all.filter((a) => a.status === status)), status);
      }
      assert.deepEqual(await listAll(svc, 'status=timed_out'), []);
      assert.deepEqual(ids(await listAll(svc, 'created_by=talos-contractor')), ids(all.filter((a) => a.created_by === 'talos-contractor')));
      for (const approver of ['alice', 'bob', 'carol', 'dave']) {
        assert.deepEqual(ids(await listAll(svc, `approver=${approver}`, 'admin', 1)), ids(all.filter((a) => approverNames(a).includes(approver))), approver);
      }
      assert.deepEqual(
        ids(await listAll(svc, 'approver=carol&status=pending')),
        ids(all.filter((a) => approverNames(a).includes('carol') && a.status === 'pending')),
      );
      assert.deepEqual(
        ids(await listAll(svc, 'approver=alice&created_by=n8n-contractor&status=pending', 'admin', 1)),
        ids(all.filter((a) => approverNames(a).includes('alice') && a.created_by === 'n8n-contractor' && a.status === 'pending')),
      );
    });

    it('a contractor lists only the approvals it created; another creator gives an empty page', async () => {
      const mine = all.filter((a) => a.created_by === 'n8n-contractor');
      assert.deepEqual(ids(await listAll(svc, '', 'n8n-contractor')), ids(mine));
      assert.deepEqual(ids(await listAll(svc, 'created_by=n8n-contractor', 'n8n-contractor')), ids(mine));
      assert.deepEqual(await listAll(svc, 'created_by=talos-contractor', 'n8n-contractor'), []);
      assert.deepEqual(ids(await listAll(svc, 'approver=carol', 'talos-contractor', 1)), ids(all.filter((a) => a.created_by === 'talos-contractor' && approverNames(a).includes('carol'))));
      assert.deepEqual(await listAll(svc, '', 'security-master'), []);
      assert.equal((await svc.call('GET', '/v1/approvals', { as: null })).status, 401);
    });

    it('refuses bad query parameters with 400 naming the field', async () => {
      const cases: [string, string][] = [
        ['status=done', 'query.status'],
        ['limit=0', 'query.limit'],
        ['limit=501', 'query.limit'],
        ['limit=x', 'query.limit'],
        ['approver=group:sre', 'query.approver'],
        ['approver=%3Cscript%3E', 'query.approver'],
        ['created_by=Not%20A%20Name', 'query.created_by'],
        ['owner=me', 'query.owner'],
        ['cursor=not-ours!', 'cursor'],
      ];
      for (const [query, path] of cases) {
        const reply = await svc.call('GET', `/v1/approvals?${query}`);
        assert.equal(reply.status, 400, `${query}: ${reply.text}`);
        assert.ok(reply.body.error.details.some((d: { path: string }) => d.path === path), `${query}: ${reply.text}`);
      }
    });
  });
}

listingSuite('SQLite', () => startTestService({ CORTEX_APPROVER_GROUPS: GROUPS }));

describe('on PostgreSQL', () => {
  before(assertPostgresReachable);
  after(dropSchemas);
  listingSuite('PostgreSQL', () =>
    startTestService({ CORTEX_APPROVER_GROUPS: GROUPS, CORTEX_DATABASE_URL: TEST_DATABASE_URL, CORTEX_DATABASE_SCHEMA: freshSchemaName('approvals_list') }),
  );
});
