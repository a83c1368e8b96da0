// The token scope matrix: who may read, create, move and cancel handoffs, who may read
// which runs, and whose subscriptions are whose. Built as tables and looped over.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_TOKEN, TOKENS, startTestService, handoffBody, type ContractorName, type Reply, type TestService } from './harness.ts';

type Who = ContractorName | 'admin';
const SENDER: ContractorName = 'infrastructure-contractor';
const RECEIVER: ContractorName = 'talos-contractor';
const THIRD: ContractorName = 'n8n-contractor';

const assertError = (reply: Reply, status: number, code: string, context: string) => {
  assert.equal(reply.status, status, `${context}: ${reply.text}`);
  assert.equal(reply.body?.error?.code, code, `${context}: ${reply.text}`);
  assert.equal(typeof reply.body.error.message, 'string');
  assert.ok(Array.isArray(reply.body.error.details));
};

let counter = 0;
const task = (prefix: string) => `${prefix}-${++counter}`;

describe('authentication', () => {
  let svc: TestService;
  let handoffId: string;
  before(async () => {
    svc = await startTestService();
    const created = await svc.call('POST', '/v1/handoffs', { as: 'admin', body: handoffBody({ task_id: 'auth' }) });
    assert.equal(created.status, 201);
    handoffId = created.body.handoff_id;
  });
  after(async () => {
    await svc?.stop();
  });

  const BAD_HEADERS: Array<[string, Record<string, string>]> = [
    ['no token', {}],
    ['empty header', { authorization: '' }],
    ['Basic scheme', { authorization: `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString('base64')}` }],
    ['token without scheme', { authorization: ADMIN_TOKEN }],
    ['Bearer without token', { authorization: 'Bearer' }],
    ['Bearer with two words', { authorization: `Bearer ${ADMIN_TOKEN} extra` }],
    ['unknown token', { authorization: 'Bearer not-a-configured-token-000' }],
    ['token with a character changed', { authorization: `Bearer ${ADMIN_TOKEN.slice(0, -1)}X` }],
    ['token prefix', { authorization: `Bearer ${ADMIN_TOKEN.slice(0, 10)}` }],
  ];
  const ROUTES = (): Array<[string, string, unknown]> => [
    ['GET', '/v1/handoffs', undefined],
    ['GET', `/v1/handoffs/${handoffId}`, undefined],
    ['POST', '/v1/handoffs', handoffBody({ task_id: 'unauthenticated' })],
    ['POST', `/v1/handoffs/${handoffId}/claim`, {}],
    ['POST', `/v1/handoffs/${handoffId}/cancel`, {}],
    ['GET', '/v1/subscriptions', undefined],
    ['GET', '/v1/runs', undefined],
    ['GET', '/v1/definitions', undefined],
    ['GET', '/v1/metrics/contractors', undefined],
  ];

  for (const [label, headers] of BAD_HEADERS) {
    it(`${label} → 401 with WWW-Authenticate: Bearer on every API route`, async () => {
      for (const [method, path, body] of ROUTES()) {
        const reply = await svc.call(method, path, { as: null, headers, body });
        assertError(reply, 401, 'unauthenticated', `${label} ${method} ${path}`);
        assert.equal(reply.headers.get('www-authenticate'), 'Bearer', `${method} ${path}`);
      }
    });
  }

  it('nothing happened while unauthenticated', async () => {
    const handoff = await svc.call('GET', `/v1/handoffs/${handoffId}`);
    assert.equal(handoff.status, 200);
    assert.equal(handoff.body.status, 'pending');
    assert.equal(handoff.body.version, 1);
    const created = await svc.call('GET', '/v1/handoffs?task_id=unauthenticated');
    assert.equal(created.body.items.length, 0);
  });

  it('each configured token authenticates (the scheme is case-insensitive)', async () => {
    for (const token of [ADMIN_TOKEN, ...Object.values(TOKENS)]) {
      for (const scheme of ['Bearer', 'bearer']) {
        const reply = await svc.call('GET', '/v1/handoffs', { as: null, headers: { authorization: `${scheme} ${token}` } });
        assert.equal(reply.status, 200, reply.text);
      }
    }
  });
});

describe('handoff scopes', () => {
  let svc: TestService;
  before(async () => {
    svc = await startTestService();
  });
  after(async () => {
    await svc?.stop();
  });

  async function newHandoff(state: 'pending' | 'in_progress'): Promise<string> {
    const created = await svc.call('POST', '/v1/handoffs', { as: SENDER, body: handoffBody({ task_id: task('scope') }) });
    assert.equal(created.status, 201, created.text);
    const id = created.body.handoff_id as string;
    if (state === 'in_progress') {
      assert.equal((await svc.call('POST', `/v1/handoffs/${id}/claim`, { as: RECEIVER, body: {} })).status, 200);
    }
    return id;
  }

  describe('create', () => {
    const MATRIX: Array<{ as: Who; from: ContractorName; allowed: boolean }> = [
      { as: SENDER, from: SENDER, allowed: true },
      { as: SENDER, from: RECEIVER, allowed: false },
      { as: RECEIVER, from: SENDER, allowed: false },
      { as: THIRD, from: SENDER, allowed: false },
      { as: 'security-master', from: 'security-master', allowed: true },
      { as: 'admin', from: SENDER, allowed: true },
      { as: 'admin', from: THIRD, allowed: true },
    ];
    for (const row of MATRIX) {
      it(`${row.as} creating from ${row.from} → ${row.allowed ? 201 : 403}`, async () => {
        const taskId = task('create');
        const reply = await svc.call('POST', '/v1/handoffs', {
          as: row.as,
          body: handoffBody({ task_id: taskId, from_contractor: row.from, to_contractor: row.from === RECEIVER ? SENDER : RECEIVER }),
        });
        const listed = await svc.call('GET', `/v1/handoffs?task_id=${taskId}`, { as: 'admin' });
        assert.equal(listed.status, 200);
        if (row.allowed) {
          assert.equal(reply.status, 201, reply.text);
          assert.equal(reply.body.from_contractor, row.from);
          assert.equal(listed.body.items.length, 1);
        } else {
          assertError(reply, 403, 'forbidden', `${row.as} from ${row.from}`);
          assert.equal(listed.body.items.length, 0, 'nothing was created');
        }
      });
    }
  });

  describe('transitions', () => {
    type Action = 'claim' | 'heartbeat' | 'complete' | 'fail' | 'cancel';
    const BODY: Record<Action, unknown> = {
      claim: {},
      heartbeat: { progress: { percent: 10 } },
      complete: { result: { ok: true } },
      fail: { error: { code: 'broken', message: 'x' } },
      cancel: { reason: 'stop' },
    };
    const STATE: Record<Action, 'pending' | 'in_progress'> = {
      claim: 'pending',
      heartbeat: 'in_progress',
      complete: 'in_progress',
      fail: 'in_progress',
      cancel: 'pending',
    };
    // Who may do what, written out in full rather than computed.
    const ALLOWED: Record<Action, Who[]> = {
      claim: [RECEIVER, 'admin'],
      heartbeat: [RECEIVER, 'admin'],
      complete: [RECEIVER, 'admin'],
      fail: [RECEIVER, 'admin'],
      cancel: [SENDER, 'admin'],
    };
    const EVERYONE: Who[] = [SENDER, RECEIVER, THIRD, 'security-master', 'admin'];
    const rows = (Object.keys(ALLOWED) as Action[]).flatMap((action) => EVERYONE.map((who) => ({ action, who, allowed: ALLOWED[action].includes(who) })));

    it('the matrix has both outcomes for every action', () => {
      assert.equal(rows.length, 25);
      assert.equal(rows.filter((r) => r.allowed).length, 10);
      for (const action of Object.keys(ALLOWED)) {
        assert.ok(rows.some((r) => r.action === action && !r.allowed));
        assert.ok(rows.some((r) => r.action === action && r.allowed));
      }
    });

    for (const { action, who, allowed } of rows) {
      it(`${who} ${action} → ${allowed ? 200 : 403}`, async () => {
        const id = await newHandoff(STATE[action]);
        const before = await svc.call('GET', `/v1/handoffs/${id}`);
        const reply = await svc.call('POST', `/v1/handoffs/${id}/${action}`, { as: who, body: BODY[action] });
        const now = await svc.call('GET', `/v1/handoffs/${id}`);
        if (allowed) {
          assert.equal(reply.status, 200, reply.text);
          assert.equal(now.body.version, before.body.version + 1);
        } else {
          assertError(reply, 403, 'forbidden', `${who} ${action}`);
          assert.deepEqual(now.body, before.body, 'a refused action changes nothing');
        }
      });
    }
  });

  describe('reading', () => {
    let id: string;
    let taskId: string;
    before(async () => {
      id = await newHandoff('pending');
      taskId = (await svc.call('GET', `/v1/handoffs/${id}`)).body.task_id;
    });
    const READERS: Array<{ who: Who; allowed: boolean }> = [
      { who: SENDER, allowed: true },
      { who: RECEIVER, allowed: true },
      { who: 'admin', allowed: true },
      { who: THIRD, allowed: false },
      { who: 'security-master', allowed: false },
    ];
    for (const { who, allowed } of READERS) {
      it(`${who} ${allowed ? 'reads' : 'cannot read'} a handoff ${allowed ? 'it is party to' : 'it is no party to'}`, async () => {
        const one = await svc.call('GET', `/v1/handoffs/${id}`, { as: who });
        const history = await svc.call('GET', `/v1/handoffs/${id}/events`, { as: who });
        const all = await svc.call('GET', '/v1/handoffs?limit=500', { as: who });
        assert.equal(all.status, 200);
        const listedIds = (all.body.items as Array<{ handoff_id: string }>).map((h) => h.handoff_id);
        if (allowed) {
          assert.equal(one.status, 200, one.text);
          assert.equal(one.body.handoff_id, id);
          assert.equal(history.status, 200, history.text);
          assert.ok(history.body.items.length >= 1);
          assert.ok(listedIds.includes(id));
        } else {
          assertError(one, 403, 'forbidden', `${who} GET`);
          assertError(history, 403, 'forbidden', `${who} GET events`);
          assert.ok(!listedIds.includes(id), `${who} must not see ${id} in lists`);
          // Not by filtering for it either.
          for (const query of [`to_contractor=${RECEIVER}`, `from_contractor=${SENDER}`, `task_id=${taskId}`]) {
            const filtered = await svc.call('GET', `/v1/handoffs?${query}`, { as: who });
            assert.equal(filtered.status, 200);
            const items = filtered.body.items as Array<{ handoff_id: string; from_contractor: string; to_contractor: string }>;
            assert.ok(!items.some((h) => h.handoff_id === id), `${who} ?${query} lists ${id}`);
            for (const h of items) assert.ok(h.from_contractor === who || h.to_contractor === who, `${who} ?${query} lists ${h.handoff_id}`);
          }
        }
      });
    }

    it('a contractor lists exactly the handoffs it sent or receives', async () => {
      const all = await svc.call('GET', '/v1/handoffs?limit=500', { as: 'admin' });
      const everything = all.body.items as Array<{ handoff_id: string; from_contractor: string; to_contractor: string }>;
      assert.ok(everything.length > 5);
      for (const who of [SENDER, RECEIVER, THIRD, 'security-master'] as const) {
        const mine = await svc.call('GET', '/v1/handoffs?limit=500', { as: who });
        const expected = everything.filter((h) => h.from_contractor === who || h.to_contractor === who).map((h) => h.handoff_id).sort();
        assert.deepEqual((mine.body.items as Array<{ handoff_id: string }>).map((h) => h.handoff_id).sort(), expected, who);
      }
    });

    it('an unknown handoff is 404 for everyone', async () => {
      for (const who of [SENDER, THIRD, 'admin'] as const) {
        assertError(await svc.call('GET', '/v1/handoffs/no-such-handoff', { as: who }), 404, 'handoff_not_found', who);
      }
    });
  });
});

describe('run scopes', () => {
  // Runs of scope-flow: THIRD (n8n-contractor, as in the templates) starts them, SENDER and
  // RECEIVER own their phases. Runs of solo-flow involve only security-master's phase.
  const SOLO: ContractorName = 'security-master';
  const action = (action_id: string) => ({ action_id, action: action_id });
  const DEFINITIONS = [
    {
      workflow_id: 'scope-flow',
      workflow_name: 'Scope flow',
      version: '1.0.0',
      contractors: [SENDER, RECEIVER, THIRD],
      phases: [
        { phase_id: 'provision', contractor: SENDER, actions: [action('clone')], rollback: [action('delete')] },
        { phase_id: 'configure', contractor: RECEIVER, actions: [action('apply')], rollback: [action('reset')] },
      ],
    },
    { workflow_id: 'solo-flow', workflow_name: 'Solo flow', version: '1.0.0', contractors: [SOLO], phases: [{ phase_id: 'assess', contractor: SOLO, actions: [action('scan')] }] },
  ];
  let svc: TestService;
  const start = async (workflow_id: string, as: Who): Promise<string> => {
    const reply = await svc.call('POST', '/v1/runs', { as, body: { workflow_id } });
    assert.equal(reply.status, 201, reply.text);
    return reply.body.run_id as string;
  };
  const post = async (path: string, as: Who, body: unknown = {}) => assert.equal((await svc.call('POST', path, { as, body })).status, 200, path);
  before(async () => {
    svc = await startTestService();
    for (const body of DEFINITIONS) assert.equal((await svc.call('POST', '/v1/definitions', { body })).status, 201);
  });
  after(async () => {
    await svc?.stop();
  });

  describe('reading one run', () => {
    let id: string;
    before(async () => {
      id = await start('scope-flow', THIRD);
      await post(`/v1/runs/${id}/phases/provision/start`, SENDER);
      await post(`/v1/runs/${id}/phases/configure/start`, RECEIVER);
      await post(`/v1/runs/${id}/fail`, THIRD, { error: { code: 'broken', message: 'x' } }); // a rollback plan to read
    });
    const READERS: Array<{ who: Who; allowed: boolean; why: string }> = [
      { who: THIRD, allowed: true, why: 'started it' },
      { who: SENDER, allowed: true, why: 'owns a phase' },
      { who: RECEIVER, allowed: true, why: 'owns a phase' },
      { who: 'admin', allowed: true, why: 'is the admin' },
      { who: SOLO, allowed: false, why: 'is no party' },
    ];
    for (const { who, allowed, why } of READERS) {
      it(`${who} (${why}) → ${allowed ? 200 : 403} on the run, its events and its rollback plan`, async () => {
        for (const path of [`/v1/runs/${id}`, `/v1/runs/${id}/events`, `/v1/runs/${id}/rollback`]) {
          const reply = await svc.call('GET', path, { as: who });
          if (allowed) {
            assert.equal(reply.status, 200, `${who} ${path}: ${reply.text}`);
            assert.ok(reply.body.run_id === id || reply.body.items.length > 0, path);
          } else {
            assertError(reply, 403, 'forbidden', `${who} ${path}`);
          }
        }
        const listed = await svc.call('GET', '/v1/runs?limit=500', { as: who });
        assert.equal(listed.status, 200);
        assert.equal((listed.body.items as Array<{ run_id: string }>).some((r) => r.run_id === id), allowed, `${who} lists it`);
      });
    }

    it('an unknown run is 404 for everyone, on every read route', async () => {
      for (const who of [THIRD, SOLO, 'admin'] as const) {
        for (const path of ['/v1/runs/run_missing', '/v1/runs/run_missing/events', '/v1/runs/run_missing/rollback']) {
          assertError(await svc.call('GET', path, { as: who }), 404, 'run_not_found', `${who} ${path}`);
        }
      }
    });
  });

  it('a contractor attaches handoffs only to runs it is a party to', async () => {
    const id = await start('scope-flow', THIRD);
    const create = (from: ContractorName) =>
      svc.call('POST', '/v1/handoffs', { as: from, body: handoffBody({ task_id: `attach-${from}`, from_contractor: from, to_contractor: RECEIVER, run_id: id }) });
    assert.equal((await create(SENDER)).status, 201, 'SENDER owns a phase');
    assert.equal((await create(THIRD)).status, 201, 'THIRD started the run');
    const outsider = await create(SOLO);
    assertError(outsider, 403, 'forbidden', 'security-master is no party to the run');
    assert.match(outsider.body.error.message, /may only attach handoffs to runs it started or owns a phase of/);
    const listed = await svc.call('GET', `/v1/handoffs?run_id=${id}`, { as: 'admin' });
    assert.equal(listed.body.items.length, 2, 'the refused handoff was not created');
  });

  it('a contractor subscribes to the events of a run it is a party to (filter.run_id), not of another run', async () => {
    const id = await start('scope-flow', THIRD);
    const subscribe = (as: Who) => svc.call('POST', '/v1/subscriptions', { as, body: { url: 'http://127.0.0.1:9/hook', events: ['run.completed', 'run.failed'], filter: { run_id: id } } });
    for (const party of [THIRD, SENDER, RECEIVER] as const) assert.equal((await subscribe(party)).status, 201, party);
    const outsider = await subscribe(SOLO);
    assertError(outsider, 403, 'forbidden', 'security-master is no party to the run');
    assert.match(outsider.body.error.message, /filter\.run_id set to a run it started or owns a phase of/);
  });

  describe('listing', () => {
    before(async () => {
      // Interleaved so that every contractor's runs are spread over the admin's pages.
      for (let i = 0; i < 6; i++) {
        const flow = await start('scope-flow', THIRD);
        if (i % 3 === 0) await post(`/v1/runs/${flow}/complete`, THIRD);
        await start('solo-flow', SOLO);
        if (i % 2 === 0) await start('solo-flow', 'admin');
        if (i % 2 === 1) await start('scope-flow', SOLO); // SOLO started it: a party without a phase
      }
    });

    /** Every page of a query as `who`: pages are full while a next_cursor follows; at most 100 pages. */
    async function collect(who: Who, query: string, limit: number): Promise<Array<{ run_id: string; started_by: string; phases: { contractor: string }[] }>> {
      const items = [];
      let cursor: string | null = null;
      for (let pages = 0; pages < 100; pages++) {
        const reply: Reply = await svc.call('GET', `/v1/runs?${query}&limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { as: who });
        assert.equal(reply.status, 200, reply.text);
        items.push(...reply.body.items);
        cursor = reply.body.next_cursor;
        if (!cursor) return items;
        assert.equal(reply.body.items.length, limit, `${who} ?${query}: a page with a next_cursor is full`);
      }
      throw new Error('paging did not end');
    }

    const QUERIES = ['', 'workflow_id=scope-flow', 'workflow_id=solo-flow', 'status=running', 'status=completed', 'workflow_id=scope-flow&status=running'];
    for (const who of [THIRD, SENDER, RECEIVER, SOLO] as const) {
      it(`${who} lists exactly the runs it started or owns a phase of, page by page, with each filter`, async () => {
        let seen = 0;
        for (const query of QUERIES) {
          const everything = await collect('admin', query, 500);
          const expected = everything.filter((r) => r.started_by === who || r.phases.some((p) => p.contractor === who)).map((r) => r.run_id);
          const mine = (await collect(who, query, 2)).map((r) => r.run_id);
          assert.deepEqual(mine, expected, `${who} ?${query}`);
          if (query === '') assert.ok(expected.length < everything.length, `${who} sees only some of the runs`);
          seen += mine.length;
        }
        assert.ok(seen > 6, `${who} sees runs across several pages`);
      });
    }
  });
});

describe('subscription scopes', () => {
  let svc: TestService;
  before(async () => {
    svc = await startTestService();
  });
  after(async () => {
    await svc?.stop();
  });

  const URL_ = 'http://127.0.0.1:9/hook';
  const MATRIX: Array<{ who: Who; events: string[]; filter?: Record<string, string>; allowed: boolean }> = [
    { who: RECEIVER, events: ['handoff.created'], allowed: false },
    { who: RECEIVER, events: ['handoff.created'], filter: {}, allowed: false },
    { who: RECEIVER, events: ['handoff.created'], filter: { to_contractor: SENDER }, allowed: false },
    { who: RECEIVER, events: ['handoff.failed'], filter: { from_contractor: THIRD }, allowed: false },
    { who: RECEIVER, events: ['handoff.created'], filter: { handoff_id: 'someone-elses' }, allowed: false },
    { who: RECEIVER, events: ['run.started', 'handoff.claimed'], allowed: false },
    { who: RECEIVER, events: ['handoff.created'], filter: { to_contractor: RECEIVER }, allowed: true },
    { who: RECEIVER, events: ['handoff.completed'], filter: { from_contractor: RECEIVER }, allowed: true },
    { who: RECEIVER, events: ['run.started', 'run.failed'], allowed: false },
    { who: RECEIVER, events: ['run.failed'], filter: { workflow_id: 'any-flow' }, allowed: false },
    { who: RECEIVER, events: ['run.failed'], filter: { run_id: 'run_missing' }, allowed: false },
    { who: 'admin', events: ['run.started', 'run.failed'], allowed: true },
    { who: 'admin', events: ['handoff.created'], allowed: true },
  ];

  for (const row of MATRIX) {
    it(`${row.who} subscribing to ${row.events.join('+')} with filter ${JSON.stringify(row.filter)} → ${row.allowed ? 201 : 403}`, async () => {
      const before = await svc.call('GET', '/v1/subscriptions', { as: 'admin' });
      const reply = await svc.call('POST', '/v1/subscriptions', {
        as: row.who,
        body: { url: URL_, events: row.events, ...(row.filter ? { filter: row.filter } : {}) },
      });
      const afterList = await svc.call('GET', '/v1/subscriptions', { as: 'admin' });
      if (row.allowed) {
        assert.equal(reply.status, 201, reply.text);
        assert.equal(reply.body.owner, row.who);
        assert.match(reply.body.secret, /^whsec_/);
        assert.equal(afterList.body.items.length, before.body.items.length + 1);
      } else {
        assertError(reply, 403, 'forbidden', JSON.stringify(row));
        assert.equal(afterList.body.items.length, before.body.items.length, 'nothing was created');
      }
    });
  }

  it('a contractor cannot see or delete another\'s subscription (404); the owner and admin can', async () => {
    const mine = await svc.call('POST', '/v1/subscriptions', {
      as: SENDER,
      body: { url: URL_, events: ['handoff.created'], filter: { from_contractor: SENDER } },
    });
    assert.equal(mine.status, 201, mine.text);
    const id = mine.body.subscription_id as string;

    const ACCESS: Array<{ who: Who; sees: boolean }> = [
      { who: SENDER, sees: true },
      { who: 'admin', sees: true },
      { who: RECEIVER, sees: false },
      { who: THIRD, sees: false },
    ];
    for (const { who, sees } of ACCESS) {
      const one = await svc.call('GET', `/v1/subscriptions/${id}`, { as: who });
      const listed = await svc.call('GET', '/v1/subscriptions', { as: who });
      assert.equal(listed.status, 200);
      const listedIds = (listed.body.items as Array<{ subscription_id: string; owner: string }>).map((s) => s.subscription_id);
      if (sees) {
        assert.equal(one.status, 200, one.text);
        assert.equal(one.body.owner, SENDER);
        assert.equal(one.body.secret, undefined, 'the secret is only in the create answer');
        assert.ok(listedIds.includes(id));
      } else {
        assertError(one, 404, 'subscription_not_found', `${who} GET`);
        assert.ok(!listedIds.includes(id), `${who} must not list it`);
        for (const item of listed.body.items as Array<{ owner: string }>) assert.equal(item.owner, who);
      }
    }

    for (const who of [RECEIVER, THIRD] as const) {
      assertError(await svc.call('DELETE', `/v1/subscriptions/${id}`, { as: who }), 404, 'subscription_not_found', `${who} DELETE`);
      assert.equal((await svc.call('GET', `/v1/subscriptions/${id}`, { as: SENDER })).status, 200, 'still there');
    }
    const deleted = await svc.call('DELETE', `/v1/subscriptions/${id}`, { as: SENDER });
    assert.equal(deleted.status, 204);
    assertError(await svc.call('GET', `/v1/subscriptions/${id}`, { as: SENDER }), 404, 'subscription_not_found', 'after delete');

    // Admin may delete anyone's.
    const other = await svc.call('POST', '/v1/subscriptions', { as: THIRD, body: { url: URL_, events: ['handoff.completed'], filter: { from_contractor: THIRD } } });
    assert.equal(other.status, 201);
    assert.equal((await svc.call('DELETE', `/v1/subscriptions/${other.body.subscription_id}`, { as: 'admin' })).status, 204);
    assertError(await svc.call('GET', `/v1/subscriptions/${other.body.subscription_id}`, { as: THIRD }), 404, 'subscription_not_found', 'admin deleted');
  });
});
