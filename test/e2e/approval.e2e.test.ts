// End to end inside real n8n 2.41 (test/e2e/n8n.ts): the packed package installed into a fresh
// n8n user folder, a workflow with the Approval Gate imported and published with n8n's CLI,
// n8n headless on loopback next to a real Cortex service, and two approvers who decide on the
// service's approval page in real headless Chromium.
//
//   Webhook → Approval Gate (alice, bob; 2 of 2; Notify URL = a receiver in this test)
//               ─Approved→ Set "Deploy Approved"   ─Rejected→ NoOp   ─Timed Out→ NoOp
//
// Calling the webhook creates the approval and pauses the execution; the Notify URL gets the
// links; alice and bob open theirs in Chromium and click Approve; the service's signed callback
// resumes the execution on Approved. Results are read from n8n's own execution store.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { launchChromium, type Chromium } from '../service/chromium.ts';
import { freePort, startTestService, tokenFor, type TestService } from '../service/harness.ts';
import { buildAndPack, ended, N8n, n8nHome, outputItems } from './n8n.ts';

const WORKFLOW = 'cortexE2eApprove1';
const CREDENTIAL = 'cortexE2eCredApr1';
const START_PATH = `cortex-approval-${randomUUID().slice(0, 8)}`;

interface Notification {
  approval_id: string;
  title: string;
  links: { approver: string; url: string }[];
}

function approvalWorkflow(notifyUrl: string) {
  return {
    id: WORKFLOW,
    name: 'E2E: deploy after two approvals',
    active: false,
    settings: { executionOrder: 'v1' },
    nodes: [
      {
        id: 'w-start',
        name: 'Start',
        type: 'n8n-nodes-base.webhook',
        typeVersion: 2.1,
        position: [0, 0],
        webhookId: randomUUID(),
        parameters: { httpMethod: 'POST', path: START_PATH, responseMode: 'onReceived', options: {} },
      },
      {
        id: 'w-gate',
        name: 'Approval Gate',
        type: 'n8n-nodes-cortex.approvalGate',
        typeVersion: 1,
        position: [220, 0],
        webhookId: randomUUID(),
        credentials: { cortexApi: { id: CREDENTIAL, name: 'Cortex (n8n-contractor)' } },
        parameters: {
          title: '=Deploy {{ $json.body.release }} to {{ $json.body.cluster }}',
          description: '=Release **{{ $json.body.release }}** for `{{ $json.body.cluster }}`.\n- canary first\n- then the rest',
          contextSource: 'json',
          contextJson: '={{ JSON.stringify($json.body) }}',
          approvers: 'alice, bob',
          requiredApprovals: 2,
          rejectOnFirstRejection: true,
          deadlineType: 'after',
          deadlineAmount: 10,
          deadlineUnit: 'minutes',
          options: { notifyUrl },
        },
      },
      {
        id: 'w-approved',
        name: 'Deploy Approved',
        type: 'n8n-nodes-base.set',
        typeVersion: 3.4,
        position: [440, -120],
        parameters: {
          mode: 'manual',
          assignments: {
            assignments: [
              { id: 'by', name: 'approved_by', value: '={{ $json.approved_by.join(",") }}', type: 'string' },
              { id: 'st', name: 'status', value: '={{ $json.status }}', type: 'string' },
              { id: 'cl', name: 'cluster', value: "={{ $('Start').item.json.body.cluster }}", type: 'string' },
            ],
          },
          includeOtherFields: false,
          options: {},
        },
      },
      { id: 'w-rejected', name: 'Rejected', type: 'n8n-nodes-base.noOp', typeVersion: 1, position: [440, 0], parameters: {} },
      { id: 'w-timeout', name: 'Timed Out', type: 'n8n-nodes-base.noOp', typeVersion: 1, position: [440, 120], parameters: {} },
    ],
    connections: {
      Start: { main: [[{ node: 'Approval Gate', type: 'main', index: 0 }]] },
      'Approval Gate': {
        main: [
          [{ node: 'Deploy Approved', type: 'main', index: 0 }],
          [{ node: 'Rejected', type: 'main', index: 0 }],
          [{ node: 'Timed Out', type: 'main', index: 0 }],
        ],
      },
    },
  };
}

describe('inside real n8n: an Approval Gate approved by two approvers through the page in Chromium', { timeout: 600_000 }, () => {
  const work = mkdtempSync(join(tmpdir(), 'cortex-e2e-approval-'));
  const notifications: Notification[] = [];
  let notifyServer: Server | undefined;
  let notifyUrl = '';
  let service: TestService | undefined;
  let n8n: N8n | undefined;
  let browser: Chromium | undefined;
  const killOnExit = () => n8n?.kill();

  before(async () => {
    process.once('exit', killOnExit);
    notifyServer = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => (body += String(chunk)));
      req.on('end', () => {
        notifications.push(JSON.parse(body) as Notification);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => notifyServer!.listen(0, '127.0.0.1', () => resolve()));
    notifyUrl = `http://127.0.0.1:${(notifyServer.address() as AddressInfo).port}/approval-links`;

    const home = await n8nHome();
    const tarball = await buildAndPack(work);
    service = await startTestService({ CORTEX_HOST: '127.0.0.1' });
    const port = await freePort();
    n8n = new N8n({ home, userFolder: join(work, 'n8n-user'), port, brokerPort: await freePort() });
    await n8n.installPackage(tarball);
    await n8n.importCredentials([
      { id: CREDENTIAL, name: 'Cortex (n8n-contractor)', type: 'cortexApi', data: { url: service.url, token: tokenFor('n8n-contractor') } },
    ]);
    await n8n.importWorkflows([approvalWorkflow(notifyUrl)]);
    await n8n.publish(WORKFLOW);
    await n8n.start();
    await n8n.waitForActivation([WORKFLOW]);
    browser = await launchChromium();
  });

  after(async () => {
    try {
      await browser?.close();
      await n8n?.stop();
      await service?.stop();
      notifyServer?.closeAllConnections();
      await new Promise<void>((resolve) => (notifyServer ? notifyServer.close(() => resolve()) : resolve()));
    } finally {
      process.removeListener('exit', killOnExit);
      rmSync(work, { recursive: true, force: true });
    }
  });

  async function approveInBrowser(url: string, comment: string): Promise<string> {
    const page = await browser!.context.newPage();
    try {
      const response = await page.goto(url);
      assert.equal(response?.status(), 200);
      await page.fill('#comment', comment);
      await Promise.all([page.waitForURL(/\/decide$/), page.click('#approve')]);
      return (await page.locator('#recorded').textContent()) ?? '';
    } finally {
      await page.close();
    }
  }

  it('the workflow pauses at the gate, both approvers approve on the page, and it continues on Approved', async () => {
    const call = await n8n!.callWebhook(START_PATH, { cluster: 'prod-eu', release: 'v2.4.0' });
    assert.equal(call.status, 200, await call.text());

    const waiting = await n8n!.waitFor('the execution waiting at the gate', () => n8n!.executions(WORKFLOW).find((e) => e.status === 'waiting'), 60_000);
    const notification = await n8n!.waitFor('the Notify URL called', () => notifications[0], 30_000);
    assert.equal(notification.title, 'Deploy v2.4.0 to prod-eu');
    assert.deepEqual(notification.links.map((l) => l.approver), ['alice', 'bob']);

    assert.match(await approveInBrowser(notification.links[0]!.url, 'canary looked fine'), /Thank you, alice/);
    assert.equal(n8n!.executions(WORKFLOW).find((e) => e.id === waiting.id)?.status, 'waiting', 'one of two approvals: still waiting');
    assert.match(await approveInBrowser(notification.links[1]!.url, 'go'), /Thank you, bob/);

    const done = await n8n!.waitFor(
      'the execution finished',
      () => n8n!.executions(WORKFLOW).find((e) => e.id === waiting.id && ended(e)),
      90_000,
    );
    const run = n8n!.runData(done.id);
    assert.equal(done.status, 'success', JSON.stringify(run.resultData.error ?? {}));
    const [approved] = outputItems(run, 'Approval Gate', 0);
    assert.equal(approved?.status, 'approved');
    assert.equal(approved?.wait_timeout, false);
    assert.deepEqual(
      approved?.decisions.map((d: { approver: string; decision: string; comment: string; via: string }) => [d.approver, d.decision, d.comment, d.via]),
      [
        ['alice', 'approve', 'canary looked fine', 'link'],
        ['bob', 'approve', 'go', 'link'],
      ],
    );
    assert.deepEqual(outputItems(run, 'Approval Gate', 1), []);
    assert.deepEqual(outputItems(run, 'Approval Gate', 2), []);
    assert.deepEqual(outputItems(run, 'Deploy Approved'), [{ approved_by: 'alice,bob', status: 'approved', cluster: 'prod-eu' }]);
    assert.equal(run.resultData.runData.Rejected, undefined);
    assert.equal(run.resultData.runData['Timed Out'], undefined);

    const history = await service!.call('GET', `/v1/approvals/${notification.approval_id}/events`, { as: 'n8n-contractor' });
    assert.deepEqual(history.body.items.map((e: { type: string }) => e.type), ['approval.created', 'approval.decision', 'approval.decision', 'approval.approved']);
  });
});
