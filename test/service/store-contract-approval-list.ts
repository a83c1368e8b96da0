// The Store contract's part on listing approvals (Store.listApprovals), run by storeContract
// against every store: newest first with created_at ties, exact pages under every filter
// and combination (a page is full whenever a next_cursor is given, and the pages together
// are exactly the matches), the approver filter when the approver is rare, status changes
// seen by the filters, nothing left behind by a mutation that lost, foreign cursors refused.

import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { CortexError } from '../../service/src/domain/errors.ts';
import type { Approval } from '../../service/src/domain/types.ts';
import { DuplicateRecord, VersionConflict, type ApprovalQuery, type Store } from '../../service/src/store/store.ts';

type MakeApproval = (overrides?: Partial<Approval>) => Approval;

const T0 = 1_700_000_000_000;
const STATUSES = ['pending', 'approved', 'rejected', 'timed_out'] as const;
const CREATORS = ['n8n-contractor', 'talos-contractor', 'admin'];
const PEOPLE = ['alice', 'bob', 'carol', 'dave'];

/** Every page of a listing: each page at most `limit`, full whenever it has a next_cursor. */
async function allPages(store: Store, query: Omit<ApprovalQuery, 'cursor'>): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  for (let pages = 0; pages < 1000; pages++) {
    const page = await store.listApprovals({ ...query, cursor });
    assert.ok(page.items.length <= query.limit, 'page larger than limit');
    ids.push(...page.items.map((a) => a.approval_id));
    if (page.next_cursor === null) return ids;
    assert.equal(page.items.length, query.limit, `a page with a next_cursor is full (${JSON.stringify(query)})`);
    cursor = page.next_cursor;
  }
  throw new Error('pagination did not end');
}

export function approvalListContract(storeOf: () => Store, makeApproval: MakeApproval): void {
  describe('listing approvals', () => {
    let approvals: Approval[];
    beforeEach(async () => {
      approvals = [];
      for (let i = 0; i < 37; i++) {
        // Two or three approvers each; "zed" only in a few, far apart (a rare approver).
        const approvers = [PEOPLE[i % 4]!, PEOPLE[(i + 1) % 4]!, ...(i % 3 === 0 ? [PEOPLE[(i + 2) % 4]!] : []), ...(i % 15 === 5 ? ['zed'] : [])];
        const a = makeApproval({
          approvers,
          status: STATUSES[i % 4]!,
          created_by: CREATORS[i % 3]!,
          created_at: T0 + Math.floor(i / 3) * 10, // three per timestamp
        });
        approvals.push(a);
        await storeOf().apply({ approval: { insert: a } });
      }
    });
    const expect = (pred: (a: Approval) => boolean) =>
      approvals
        .filter(pred)
        .sort((x, y) => y.created_at - x.created_at || (x.approval_id < y.approval_id ? 1 : -1))
        .map((a) => a.approval_id);

    it('pages through everything newest first, without duplicates or gaps, and round-trips the records', async () => {
      for (const limit of [1, 4, 36, 37, 100]) {
        assert.deepEqual(await allPages(storeOf(), { limit }), expect(() => true), `limit ${limit}`);
      }
      const first = await storeOf().listApprovals({ limit: 3 });
      assert.deepEqual(first.items[0], approvals.find((a) => a.approval_id === first.items[0]?.approval_id));
    });

    it('filters by status, creator and approver, alone and combined', async () => {
      const store = storeOf();
      for (const status of STATUSES) assert.deepEqual(await allPages(store, { status, limit: 3 }), expect((a) => a.status === status), status);
      for (const created_by of CREATORS) assert.deepEqual(await allPages(store, { created_by, limit: 4 }), expect((a) => a.created_by === created_by), created_by);
      for (const approver of PEOPLE) {
        for (const limit of [1, 5, 100]) {
          assert.deepEqual(await allPages(store, { approver, limit }), expect((a) => a.approvers.includes(approver)), `${approver} ${limit}`);
        }
      }
      assert.deepEqual(await allPages(store, { approver: 'carol', status: 'pending', limit: 2 }), expect((a) => a.approvers.includes('carol') && a.status === 'pending'));
      assert.deepEqual(
        await allPages(store, { approver: 'bob', created_by: 'talos-contractor', limit: 2 }),
        expect((a) => a.approvers.includes('bob') && a.created_by === 'talos-contractor'),
      );
      assert.deepEqual(
        await allPages(store, { created_by: 'admin', status: 'rejected', limit: 1 }),
        expect((a) => a.created_by === 'admin' && a.status === 'rejected'),
      );
      assert.deepEqual(
        await allPages(store, { approver: 'alice', created_by: 'n8n-contractor', status: 'approved', limit: 1 }),
        expect((a) => a.approvers.includes('alice') && a.created_by === 'n8n-contractor' && a.status === 'approved'),
      );
      assert.deepEqual(await store.listApprovals({ approver: 'nobody', limit: 5 }), { items: [], next_cursor: null });
      assert.deepEqual(await store.listApprovals({ created_by: 'nobody', status: 'pending', limit: 5 }), { items: [], next_cursor: null });
    });

    it('a rare approver gets exact pages: full ones, then the rest, with no cursor after the last match', async () => {
      const zed = expect((a) => a.approvers.includes('zed'));
      assert.equal(zed.length, 3);
      const first = await storeOf().listApprovals({ approver: 'zed', limit: 2 });
      assert.deepEqual(first.items.map((a) => a.approval_id), zed.slice(0, 2));
      assert.notEqual(first.next_cursor, null);
      const second = await storeOf().listApprovals({ approver: 'zed', limit: 2, cursor: first.next_cursor! });
      assert.deepEqual(second.items.map((a) => a.approval_id), zed.slice(2));
      assert.equal(second.next_cursor, null);
      const exact = await storeOf().listApprovals({ approver: 'zed', limit: 3 });
      assert.equal(exact.items.length, 3);
      assert.equal(exact.next_cursor, null, 'no cursor when the last page is exactly full');
    });

    it('sees status changes, and a mutation that lost leaves no approver behind', async () => {
      const store = storeOf();
      const a = approvals.find((x) => x.status === 'pending' && x.approvers.includes('alice'))!;
      const decided: Approval = { ...a, status: 'approved', version: a.version + 1, outcome_reason: 'approvals_reached' };
      await store.apply({ approval: { update: decided, expectedVersion: a.version } });
      approvals = approvals.map((x) => (x.approval_id === a.approval_id ? decided : x));
      assert.deepEqual(await allPages(store, { approver: 'alice', status: 'approved', limit: 2 }), expect((x) => x.approvers.includes('alice') && x.status === 'approved'));
      assert.ok(!(await allPages(store, { status: 'pending', limit: 50 })).includes(a.approval_id));

      await assert.rejects(store.apply({ approval: { insert: { ...a, approvers: ['mallory'] } } }), (e: unknown) => e instanceof DuplicateRecord);
      await assert.rejects(store.apply({ approval: { update: { ...decided, approvers: ['mallory'] }, expectedVersion: a.version } }), (e: unknown) => e instanceof VersionConflict);
      assert.deepEqual(await store.listApprovals({ approver: 'mallory', limit: 5 }), { items: [], next_cursor: null });
    });

    it('rejects a cursor it did not issue as an invalid request', async () => {
      for (const cursor of ['not a cursor!', Buffer.from('["x","y"]').toString('base64url')]) {
        for (const query of [{ limit: 5, cursor }, { approver: 'alice', limit: 5, cursor }]) {
          await assert.rejects(storeOf().listApprovals(query), (e: unknown) => e instanceof CortexError && e.kind === 'invalid');
        }
      }
    });
  });
}
