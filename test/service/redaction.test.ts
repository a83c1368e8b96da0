// Secrets in handoff data never reach the logs or the event history, and bearer tokens
// never reach the logs. The API itself returns the data as stored.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_TOKEN, TOKENS, startTestService, type TestService } from './harness.ts';

// Each secret value is unique, so finding it anywhere is a leak.
const SECRETS = {
  password: 'pw-top-level-7f3a9c',
  api_key: 'apikey-9d8e7f6a5b4c',
  token: 'tok-3c2b1a0f9e8d',
  nestedSecret: 'nested-secret-5e6f7a8b',
  nestedPassphrase: 'deep-passphrase-1a2b3c',
  sshPrivateKey: '-----BEGIN OPENSSH PRIVATE KEY-----b3BlbnNzaC1rZXktdjEAAAA',
  arrayPassword1: 'array-pw-node1-44aa',
  arrayPassword2: 'array-pw-node2-55bb',
  resultSecret: 'result-secret-66cc77dd',
  resultToken: 'result-token-88ee99ff',
  progressCredential: 'progress-cred-1234abcd',
  failToken: 'fail-data-token-0a0b0c',
  failApiKey: 'fail-data-apikey-1d1e1f',
} as const;

const VISIBLE = {
  cluster: 'visible-cluster-name-alpha',
  host: 'visible-host-node-1',
  kubeconfig: 'visible-kubeconfig-ref-k1',
  note: 'visible-note-on-failed-handoff',
} as const;

const DATA = {
  cluster_name: VISIBLE.cluster,
  password: SECRETS.password,
  api_key: SECRETS.api_key,
  token: SECRETS.token,
  nested: {
    secret: SECRETS.nestedSecret,
    region: 'eu-1',
    deeper: { passphrase: SECRETS.nestedPassphrase, level: 3 },
  },
  ssh_private_key: SECRETS.sshPrivateKey,
  hosts: [
    { name: VISIBLE.host, password: SECRETS.arrayPassword1 },
    { name: 'node-2', password: SECRETS.arrayPassword2 },
  ],
};

describe('redaction of secrets in logs and history', () => {
  let svc: TestService;
  let completedId: string;
  let failedId: string;

  before(async () => {
    svc = await startTestService();

    const created = await svc.call('POST', '/v1/handoffs', {
      as: 'infrastructure-contractor',
      body: { from_contractor: 'infrastructure-contractor', to_contractor: 'talos-contractor', task_id: 'redaction', data: DATA },
    });
    assert.equal(created.status, 201, created.text);
    completedId = created.body.handoff_id;
    assert.equal((await svc.call('POST', `/v1/handoffs/${completedId}/claim`, { as: 'talos-contractor', body: {} })).status, 200);
    const beat = await svc.call('POST', `/v1/handoffs/${completedId}/heartbeat`, {
      as: 'talos-contractor',
      body: { progress: { percent: 50, credentials: SECRETS.progressCredential } },
    });
    assert.equal(beat.status, 200, beat.text);
    const done = await svc.call('POST', `/v1/handoffs/${completedId}/complete`, {
      as: 'talos-contractor',
      body: { result: { kubeconfig_ref: VISIBLE.kubeconfig, admin: { secret: SECRETS.resultSecret }, bootstrap_token: SECRETS.resultToken } },
    });
    assert.equal(done.status, 200, done.text);

    const other = await svc.call('POST', '/v1/handoffs', {
      as: 'admin',
      body: {
        from_contractor: 'n8n-contractor',
        to_contractor: 'security-master',
        task_id: 'redaction-fail',
        data: { note: VISIBLE.note, token: SECRETS.failToken, auth: { 'x-api-key': SECRETS.failApiKey } },
      },
    });
    assert.equal(other.status, 201, other.text);
    failedId = other.body.handoff_id;
    const failed = await svc.call('POST', `/v1/handoffs/${failedId}/fail`, {
      as: 'security-master',
      body: { error: { code: 'scan_failed', message: 'scanner unreachable' } },
    });
    assert.equal(failed.status, 200, failed.text);

    // Requests with every token, good and bad, so that the token check below has something to check.
    for (const who of ['admin', ...Object.keys(TOKENS)] as const) {
      assert.equal((await svc.call('GET', '/v1/handoffs', { as: who as 'admin' })).status, 200);
      assert.equal((await svc.call('GET', '/v1/nope', { as: who as 'admin' })).status, 404);
      assert.equal((await svc.call('POST', '/v1/handoffs', { as: who as 'admin', raw: '{"broken":' })).status, 400);
    }
  });
  after(async () => {
    await svc?.stop();
  });

  const historyText = async (id: string): Promise<string> => {
    const reply = await svc.call('GET', `/v1/handoffs/${id}/events`);
    assert.equal(reply.status, 200);
    assert.ok(reply.body.items.length >= 2);
    return reply.text;
  };

  it('the logs hold the request lines and the handoff changes (the grep is not vacuous)', () => {
    const lines = svc.logs.map((line) => JSON.parse(line) as Record<string, any>);
    const requests = lines.filter((l) => l.msg === 'request');
    assert.ok(requests.some((l) => l.method === 'POST' && l.path === '/v1/handoffs' && l.status === 201));
    assert.ok(requests.some((l) => l.path === `/v1/handoffs/${completedId}/complete` && l.status === 200));
    assert.ok(requests.some((l) => l.path === `/v1/handoffs/${failedId}/fail` && l.status === 200));
    assert.ok(requests.filter((l) => l.path === '/v1/handoffs' && l.method === 'GET').length >= 5);

    const changes = lines.filter((l) => l.msg === 'handoff changed');
    const created = changes.find((l) => l.action === 'create' && l.handoff?.handoff_id === completedId);
    assert.ok(created, 'the creation is logged with the handoff');
    assert.equal(created.handoff.data.cluster_name, VISIBLE.cluster);
    assert.equal(created.handoff.data.password, '[REDACTED]');
    assert.equal(created.handoff.data.nested.region, 'eu-1');
    assert.equal(created.handoff.data.nested.secret, '[REDACTED]');
    assert.equal(created.handoff.data.hosts[0].name, VISIBLE.host);
    assert.equal(created.handoff.data.hosts[0].password, '[REDACTED]');
    const completed = changes.find((l) => l.action === 'complete' && l.handoff?.handoff_id === completedId);
    assert.ok(completed);
    assert.equal(completed.handoff.result.kubeconfig_ref, VISIBLE.kubeconfig);
    const failed = changes.find((l) => l.action === 'fail' && l.handoff?.handoff_id === failedId);
    assert.ok(failed);
    assert.equal(failed.handoff.data.note, VISIBLE.note);
    assert.equal(failed.handoff.data.token, '[REDACTED]');
    assert.ok(changes.some((l) => l.action === 'heartbeat' && l.handoff?.progress?.percent === 50));
  });

  it('no secret value appears in any log line', () => {
    const all = svc.logs.join('\n');
    for (const [name, value] of Object.entries(SECRETS)) {
      assert.ok(!all.includes(value), `secret ${name} leaked into the log: ${svc.logs.find((l) => l.includes(value))}`);
    }
    // The non-secret values made it into the log, so the data was logged at all.
    for (const value of Object.values(VISIBLE)) assert.ok(all.includes(value), `${value} should be logged`);
  });

  it('no bearer token appears in any log line', () => {
    const all = svc.logs.join('\n');
    for (const token of [ADMIN_TOKEN, ...Object.values(TOKENS)]) {
      assert.ok(!all.includes(token), `a bearer token leaked into the log: ${svc.logs.find((l) => l.includes(token))}`);
      assert.ok(!all.includes(token.slice(0, 12)), 'not even a prefix');
    }
  });

  it('no secret value appears in the event history; the visible values do', async () => {
    const completed = await historyText(completedId);
    const failed = await historyText(failedId);
    for (const [name, value] of Object.entries(SECRETS)) {
      assert.ok(!completed.includes(value), `secret ${name} in the history of ${completedId}`);
      assert.ok(!failed.includes(value), `secret ${name} in the history of ${failedId}`);
    }
    assert.ok(completed.includes(VISIBLE.cluster));
    assert.ok(completed.includes(VISIBLE.kubeconfig));
    assert.ok(completed.includes('[REDACTED]'));
    assert.ok(failed.includes(VISIBLE.note));
    assert.ok(failed.includes('[REDACTED]'));
    const events = (await svc.call('GET', `/v1/handoffs/${completedId}/events`)).body.items as Array<{ type: string; data: any }>;
    const createdEvent = events.find((e) => e.type === 'handoff.created')!;
    assert.equal(createdEvent.data.data.hosts[1].name, 'node-2');
    assert.equal(createdEvent.data.data.hosts[1].password, '[REDACTED]');
    assert.equal(createdEvent.data.data.nested.deeper.level, 3);
  });

  it('the API returns the data as stored, secrets included', async () => {
    const completed = await svc.call('GET', `/v1/handoffs/${completedId}`);
    assert.equal(completed.status, 200);
    assert.deepEqual(completed.body.data, DATA);
    assert.equal(completed.body.data.cluster_name, VISIBLE.cluster);
    assert.equal(completed.body.result.kubeconfig_ref, VISIBLE.kubeconfig);
    assert.equal(completed.body.result.bootstrap_token, SECRETS.resultToken);
    assert.equal(completed.body.progress.credentials, SECRETS.progressCredential);
    const failed = await svc.call('GET', `/v1/handoffs/${failedId}`, { as: 'security-master' });
    assert.equal(failed.status, 200);
    assert.equal(failed.body.data.note, VISIBLE.note);
    assert.equal(failed.body.data.token, SECRETS.failToken);
    assert.equal(failed.body.status, 'failed');
  });
});
