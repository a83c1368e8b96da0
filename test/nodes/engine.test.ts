// The engine harness drives real n8n code: fixture nodes run by n8n-core's WorkflowExecute make
// real HTTP requests to a loopback API, pause and resume like the Wait node, and route items.

import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createRequire } from 'node:module';
import type { NodeApiError, NodeOperationError } from 'n8n-workflow';
import { createEngine, type Engine, type WorkflowJson, type WorkflowNodeJson } from './engine.ts';

// Modules importing values from 'n8n-workflow' load after the engine (see esm-hook.ts).
const n8nWorkflow = await import('n8n-workflow');
const { FixtureApi } = await import('./fixtures/FixtureApi.credentials.ts');
const { FixtureEcho } = await import('./fixtures/FixtureEcho.node.ts');
const { FixtureHttp } = await import('./fixtures/FixtureHttp.node.ts');
const { FixtureRouter } = await import('./fixtures/FixtureRouter.node.ts');
const { FixtureWait } = await import('./fixtures/FixtureWait.node.ts');

const TOKEN = 'secret-token';

interface Seen {
  method: string;
  url: string;
  authorization: string | undefined;
  body: string;
}

/** Loopback API: GET /things/:name, GET /me; POST /notify records what a node sent. */
class FixtureApiServer {
  seen: Seen[] = [];
  notified: unknown[] = [];
  private server: Server | undefined;
  baseUrl = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      void readAll(req).then((body) => {
        const authorization = req.headers.authorization;
        this.seen.push({ method: req.method ?? '', url: req.url ?? '', authorization, body });
        const reply = (status: number, json: unknown) => {
          res.writeHead(status, { 'content-type': 'application/json' });
          res.end(JSON.stringify(json));
        };
        if (req.url === '/notify') {
          this.notified.push(JSON.parse(body));
          return reply(200, { ok: true });
        }
        const token = authorization?.replace(/^Bearer /, '');
        if (token !== TOKEN && token !== 'disabled-token') return reply(401, { message: 'unknown token' });
        if (req.url === '/me') return reply(200, { user: 'fixture', disabled: token === 'disabled-token' });
        const name = /^\/things\/([^/]+)$/.exec(req.url ?? '')?.[1];
        if (name === 'ghost') return reply(404, { message: 'thing ghost not found' });
        if (name) return reply(200, { name, authorization });
        return reply(404, { message: 'no such route' });
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', () => resolve()));
    this.baseUrl = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

async function readAll(req: IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of req) text += String(chunk);
  return text;
}

const START = 'When clicking ‘Execute workflow’';

/** Workflow JSON as n8n exports it: a Manual Trigger, then `nodes` connected one after another. */
function linearWorkflow(nodes: WorkflowNodeJson[]): WorkflowJson {
  const all: WorkflowNodeJson[] = [{ name: START, type: 'n8n-nodes-base.manualTrigger', typeVersion: 1, position: [0, 0], parameters: {} }, ...nodes];
  const connections: WorkflowJson['connections'] = {};
  for (let i = 0; i + 1 < all.length; i++) {
    connections[all[i]!.name] = { main: [[{ node: all[i + 1]!.name, type: 'main', index: 0 }]] };
  }
  return { name: 'engine test', nodes: all, connections };
}

const httpNode = (parameters: Record<string, unknown>, extra: Partial<WorkflowNodeJson> = {}): WorkflowNodeJson => ({
  name: 'Fixture HTTP',
  type: 'n8n-nodes-cortex.fixtureHttp',
  typeVersion: 1,
  position: [200, 0],
  parameters: parameters as WorkflowNodeJson['parameters'],
  credentials: { fixtureApi: { id: '1', name: 'Fixture account' } },
  ...extra,
});

describe('engine harness (real n8n WorkflowExecute)', () => {
  const api = new FixtureApiServer();
  let engine: Engine;

  before(async () => {
    await api.start();
    engine = createEngine({
      nodeTypes: [FixtureHttp, FixtureRouter, FixtureWait, FixtureEcho],
      credentialTypes: [FixtureApi],
      credentials: { fixtureApi: { id: '1', name: 'Fixture account', data: { baseUrl: api.baseUrl, token: TOKEN } } },
    });
  });

  after(async () => {
    await engine.close();
    await api.stop();
  });

  it('gives node modules the n8n-workflow instance n8n-core uses', () => {
    const required = createRequire(import.meta.url)('n8n-workflow') as typeof n8nWorkflow;
    assert.equal(n8nWorkflow.NodeApiError, required.NodeApiError);
  });

  describe('HTTP with a credential', () => {
    it('sends the Authorization header of the generic authenticate block and outputs one paired item per input', async () => {
      api.seen = [];
      const result = await engine.run(linearWorkflow([httpNode({ path: '/things/widget' })]), {
        startNodeData: [{ json: { n: 1 } }, { json: { n: 2 } }],
      });

      assert.equal(result.status, 'success', String(result.error?.message));
      assert.deepEqual(
        api.seen.map((s) => [s.method, s.url, s.authorization]),
        [
          ['GET', '/things/widget', `Bearer ${TOKEN}`],
          ['GET', '/things/widget', `Bearer ${TOKEN}`],
        ],
      );
      const [items] = result.outputOf('Fixture HTTP');
      assert.deepEqual(items, [
        { json: { name: 'widget', authorization: `Bearer ${TOKEN}` }, pairedItem: { item: 0 } },
        { json: { name: 'widget', authorization: `Bearer ${TOKEN}` }, pairedItem: { item: 1 } },
      ]);
      assert.deepEqual(result.executedNodes, [START, 'Fixture HTTP']);
    });

    it('resolves parameter expressions per item', async () => {
      api.seen = [];
      const result = await engine.run(linearWorkflow([httpNode({ path: '=/things/{{ $json.name }}' })]), {
        startNodeData: [{ json: { name: 'alpha' } }, { json: { name: 'beta' } }],
      });

      assert.equal(result.status, 'success');
      assert.deepEqual(api.seen.map((s) => s.url), ['/things/alpha', '/things/beta']);
      assert.deepEqual(result.jsonOf('Fixture HTTP').map((j) => j.name), ['alpha', 'beta']);
    });

    it('fills in the stored credential when the workflow JSON names none', async () => {
      const node = httpNode({ path: '/things/auto' });
      delete node.credentials;
      const result = await engine.run(linearWorkflow([node]));
      assert.equal(result.status, 'success', String(result.error?.message));
      assert.equal(result.jsonOf('Fixture HTTP')[0]?.authorization, `Bearer ${TOKEN}`);
    });
  });

  describe('remote errors', () => {
    const items = [{ json: { name: 'alpha' } }, { json: { name: 'ghost' } }];
    const path = '=/things/{{ $json.name }}';

    it('a 404 fails the run with a NodeApiError carrying the remote message', async () => {
      const workflow = linearWorkflow([httpNode({ path }), { name: 'After', type: 'n8n-nodes-cortex.fixtureEcho', parameters: { tag: 'x' } }]);
      const result = await engine.run(workflow, { startNodeData: items });

      assert.equal(result.status, 'error');
      // n8n keeps a plain copy of the thrown error ({ ...error, message, stack }), not the instance.
      const error = result.error as NodeApiError | undefined;
      assert.equal(error?.name, 'NodeApiError');
      assert.equal(error.message, 'The resource you are requesting could not be found');
      assert.equal(error.description, 'thing ghost not found');
      assert.equal(error.httpCode, '404');
      assert.equal(error.context.itemIndex, 1);
      assert.equal(error.node?.name, 'Fixture HTTP');
      assert.equal(result.nodeError('Fixture HTTP')?.message, error.message);
      assert.ok(!result.executedNodes.includes('After'));
    });

    it('continueOnFail puts {error} on the failing item and the run succeeds', async () => {
      const result = await engine.run(linearWorkflow([httpNode({ path }, { continueOnFail: true })]), { startNodeData: items });

      assert.equal(result.status, 'success');
      const [output] = result.outputOf('Fixture HTTP');
      assert.equal(output?.[0]?.json.name, 'alpha');
      assert.deepEqual(output?.[1], { json: { error: 'The resource you are requesting could not be found' }, pairedItem: { item: 1 } });
    });

    it("onError 'continueRegularOutput' behaves the same", async () => {
      const result = await engine.run(linearWorkflow([httpNode({ path }, { onError: 'continueRegularOutput' })]), { startNodeData: items });
      assert.equal(result.status, 'success');
      assert.deepEqual(result.jsonOf('Fixture HTTP')[1], { error: 'The resource you are requesting could not be found' });
    });

    it("onError 'continueErrorOutput' moves the failed item to the node's error output", async () => {
      const result = await engine.run(linearWorkflow([httpNode({ path }, { onError: 'continueErrorOutput' })]), { startNodeData: items });
      assert.equal(result.status, 'success');
      const [ok, failed] = result.outputOf('Fixture HTTP');
      assert.deepEqual(ok?.map((i) => i.json.name), ['alpha']);
      assert.deepEqual(failed?.map((i) => [i.json.error, i.pairedItem]), [['The resource you are requesting could not be found', { item: 1 }]]);
    });

    it('a NodeOperationError for a bad parameter fails the run', async () => {
      const router = { name: 'Router', type: 'n8n-nodes-cortex.fixtureRouter', parameters: { value: '={{ $json.n }}' } };
      const result = await engine.run(linearWorkflow([router]), { startNodeData: [{ json: { n: 1.5 } }] });
      assert.equal(result.status, 'error');
      const error = result.error as NodeOperationError | undefined;
      assert.equal(error?.name, 'NodeOperationError');
      assert.equal(error.message, 'Value must be an integer, got 1.5');
      assert.equal(error.context.itemIndex, 0);
    });
  });

  describe('credential test requests', () => {
    it('passes, and fails by a responseSuccessBody rule or a non-2xx status', async () => {
      assert.deepEqual(await engine.testCredential('fixtureApi'), { status: 'OK', message: 'Connection successful!' });
      const disabled = { id: '2', name: 'Disabled', data: { baseUrl: api.baseUrl, token: 'disabled-token' } };
      assert.deepEqual(await engine.testCredential('fixtureApi', disabled), { status: 'Error', message: 'This token is disabled' });
      const wrong = { id: '3', name: 'Wrong', data: { baseUrl: api.baseUrl, token: 'nope' } };
      assert.equal((await engine.testCredential('fixtureApi', wrong)).status, 'Error');
      assert.equal(api.seen.at(-1)?.authorization, 'Bearer nope');
    });
  });

  describe('pause and resume (Wait node pattern)', () => {
    const waitWorkflow = (notifyUrl = '') =>
      linearWorkflow([
        { name: 'Fixture Wait', type: 'n8n-nodes-cortex.fixtureWait', webhookId: 'c0ffee00-0000-4000-8000-000000000001', parameters: { notifyUrl } },
        { name: 'After', type: 'n8n-nodes-cortex.fixtureEcho', parameters: { tag: '={{ $json.decision }}!' } },
      ]);

    it('waits with waitTill and a resume URL, then resume() feeds the webhook body on and runs downstream nodes', async () => {
      const waiting = await engine.run(waitWorkflow(), { startNodeData: [{ json: { request: 1 } }] });

      assert.equal(waiting.status, 'waiting');
      assert.equal(waiting.waitingNode, 'Fixture Wait');
      assert.ok(waiting.waitTill instanceof Date && waiting.waitTill.getTime() > Date.now() + 50_000);
      assert.match(waiting.resumeUrl, new RegExp(`^${engine.baseUrl}/webhook-waiting/${waiting.executionId}\\?signature=[0-9a-f]{64}$`));
      assert.deepEqual(waiting.executedNodes, [START, 'Fixture Wait']);

      const resumed = await engine.resume(waiting, { webhookBody: { decision: 'approved' } });

      assert.equal(resumed.status, 'success', String(resumed.error?.message));
      assert.equal(resumed.executionId, waiting.executionId);
      const [[resumedItem, ...others] = []] = resumed.outputOf('Fixture Wait');
      assert.deepEqual(resumedItem?.json, { decision: 'approved' });
      assert.equal(others.length, 0);
      assert.deepEqual(resumed.jsonOf('After'), [{ decision: 'approved', tag: 'approved!' }]);
      assert.deepEqual(resumed.executedNodes, ['Fixture Wait', 'After']);
      assert.equal(resumed.runData['Fixture Wait']?.length, 1, 'the waiting run is replaced, not kept');
      assert.deepEqual(resumed.webhookResponse, { message: 'Workflow was started' });
      await assert.rejects(engine.resume(waiting, { webhookBody: {} }), /has finished already/);
    });

    it("resumeAfterWaitLimit continues as n8n's wait tracker does: the waiting node forwards its input on output 0", async () => {
      const waiting = await engine.run(waitWorkflow(), { startNodeData: [{ json: { request: 7 } }] });
      assert.equal(waiting.status, 'waiting');

      const resumed = await engine.resumeAfterWaitLimit(waiting);

      assert.equal(resumed.status, 'success', String(resumed.error?.message));
      assert.equal(resumed.resumeCount, 1);
      assert.deepEqual(resumed.jsonOf('Fixture Wait'), [{ request: 7 }]);
      assert.deepEqual(resumed.jsonOf('After'), [{ request: 7, tag: '!' }]);
      assert.deepEqual(resumed.executedNodes, ['Fixture Wait', 'After']);
      assert.equal(resumed.runData['Fixture Wait']?.length, 1, 'the waiting run is replaced, not kept');
      await assert.rejects(engine.resumeAfterWaitLimit(waiting), /is not waiting/);
      await assert.rejects(engine.resume(waiting, { webhookBody: {} }), /has finished already/);
    });

    it('a webhook that returns no workflowData answers but leaves the execution waiting', async () => {
      const waiting = await engine.run(waitWorkflow());
      const declined = await engine.resume(waiting, { webhookBody: { decline: true } });
      assert.equal(declined.status, 'waiting');
      assert.deepEqual(declined.webhookResponse, { accepted: false });
      const resumed = await engine.resume(waiting, { webhookBody: { decision: 'later' } });
      assert.equal(resumed.status, 'success');
      assert.deepEqual(resumed.jsonOf('After'), [{ decision: 'later', tag: 'later!' }]);
    });

    it('over HTTP: the node sees $execution.resumeUrl, and a POST to it resumes the execution', async () => {
      await engine.listen();
      api.notified = [];
      const waiting = await engine.run(waitWorkflow(`${api.baseUrl}/notify`));

      assert.equal(waiting.status, 'waiting');
      assert.deepEqual(api.notified, [{ resumeUrl: waiting.resumeUrl }]);
      assert.ok(waiting.resumeUrl.startsWith(`${engine.baseUrl}/webhook-waiting/`));

      const bare = waiting.resumeUrl.split('?')[0]!;
      assert.equal((await fetch(bare, { method: 'POST' })).status, 401);
      assert.equal((await fetch(`${bare}?signature=${'0'.repeat(64)}`, { method: 'POST' })).status, 401);

      const reply = await fetch(waiting.resumeUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ decision: 'via-http' }),
      });
      assert.equal(reply.status, 200);
      assert.deepEqual(await reply.json(), { message: 'Workflow was started' });

      const resumed = await engine.waitForResume(waiting);
      assert.equal(resumed.status, 'success');
      assert.deepEqual(resumed.jsonOf('After'), [{ decision: 'via-http', tag: 'via-http!' }]);
      assert.equal((await fetch(waiting.resumeUrl, { method: 'POST', body: '{}' })).status, 409);
    });
  });

  describe('multiple outputs', () => {
    it('routes items to the right output and on to the nodes connected there', async () => {
      const workflow: WorkflowJson = {
        nodes: [
          { name: START, type: 'n8n-nodes-base.manualTrigger', parameters: {} },
          { name: 'Router', type: 'n8n-nodes-cortex.fixtureRouter', parameters: { value: '={{ $json.n }}' } },
          { name: 'Even', type: 'n8n-nodes-cortex.fixtureEcho', parameters: { tag: 'even' } },
          { name: 'Odd', type: 'n8n-nodes-cortex.fixtureEcho', parameters: { tag: 'odd' } },
        ],
        connections: {
          [START]: { main: [[{ node: 'Router', type: 'main', index: 0 }]] },
          Router: {
            main: [[{ node: 'Even', type: 'main', index: 0 }], [{ node: 'Odd', type: 'main', index: 0 }]],
          },
        },
      };
      const result = await engine.run(workflow, { startNodeData: [1, 2, 3, 4].map((n) => ({ json: { n } })) });

      assert.equal(result.status, 'success');
      const [even, odd] = result.outputOf('Router');
      assert.deepEqual(even?.map((i) => [i.json.n, i.pairedItem]), [[2, { item: 1 }], [4, { item: 3 }]]);
      assert.deepEqual(odd?.map((i) => [i.json.n, i.pairedItem]), [[1, { item: 0 }], [3, { item: 2 }]]);
      assert.deepEqual(result.jsonOf('Even'), [{ n: 2, tag: 'even' }, { n: 4, tag: 'even' }]);
      assert.deepEqual(result.jsonOf('Odd'), [{ n: 1, tag: 'odd' }, { n: 3, tag: 'odd' }]);
    });
  });
});
