// The Proxmox VE API credential's "Test credential" request (n8n's credential tester on the
// real engine) against the simulator: token and ticket auth, CA pinning, the insecure switch.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createEngine, type Engine, type StoredCredential } from './engine.ts';
import { generateCertificates } from '../simulators/proxmox/certs.ts';
import { DEFAULT_TOKENS, ProxmoxSimulator } from '../simulators/proxmox/server.ts';

const { ProxmoxApi } = await import('../../credentials/ProxmoxApi.credentials.ts');

describe('Proxmox VE API credential test', () => {
  let sim: ProxmoxSimulator;
  let engine: Engine;
  const token = DEFAULT_TOKENS[0]!;
  const credential = (data: StoredCredential['data']): StoredCredential => ({ id: 'c1', name: 'Proxmox', data: { baseUrl: sim.url, ca: sim.caPem, ...data } });

  before(async () => {
    sim = await ProxmoxSimulator.start({ timeScale: 0.02 });
    engine = createEngine({ credentialTypes: [ProxmoxApi] });
  });
  after(async () => {
    await engine.close();
    await sim.close();
  });

  it('passes with an API token and the pinned CA', async () => {
    sim.resetStats();
    const result = await engine.testCredential('proxmoxApi', credential({ authMethod: 'apiToken', tokenId: token.tokenid, tokenSecret: token.secret }));
    assert.deepEqual(result, { status: 'OK', message: 'Connection successful!' });
    assert.equal(sim.stats().byRoute['GET /version'], 1);
  });

  it('accepts a base URL with a trailing /api2/json/', async () => {
    const result = await engine.testCredential('proxmoxApi', credential({ baseUrl: `${sim.url}/api2/json/`, tokenId: token.tokenid, tokenSecret: token.secret }));
    assert.equal(result.status, 'OK', result.message);
  });

  it('fails with a wrong token secret', async () => {
    const result = await engine.testCredential('proxmoxApi', credential({ tokenId: token.tokenid, tokenSecret: 'wrong' }));
    assert.equal(result.status, 'Error');
  });

  it('passes with username/password (ticket) and fails with a wrong password', async () => {
    sim.resetStats();
    // n8n saves a credential before testing it; the fresh ticket is stored into it (preAuthentication).
    const stored = credential({ authMethod: 'ticket', username: 'root', realm: 'pam', password: 'proxmox-root-pw' });
    engine.setCredentials('proxmoxApi', stored);
    const ok = await engine.testCredential('proxmoxApi', stored);
    assert.equal(ok.status, 'OK', ok.message);
    assert.equal(sim.stats().logins, 1);
    assert.match(String(stored.data.session), /^\{"ticket":"PVE:root@pam:/);
    const wrongPassword = credential({ authMethod: 'ticket', username: 'root@pam', password: 'nope' });
    engine.setCredentials('proxmoxApi', wrongPassword);
    const wrong = await engine.testCredential('proxmoxApi', wrongPassword);
    assert.equal(wrong.status, 'Error');
  });

  it('fails clearly with another CA, and without one (self-signed)', async () => {
    const other = generateCertificates();
    const wrongCa = await engine.testCredential('proxmoxApi', credential({ tokenId: token.tokenid, tokenSecret: token.secret, ca: other.caPem }));
    assert.equal(wrongCa.status, 'Error');
    assert.match(wrongCa.message, /certificate|UNABLE_TO_VERIFY|SELF_SIGNED/i);
    const noCa = await engine.testCredential('proxmoxApi', credential({ tokenId: token.tokenid, tokenSecret: token.secret, ca: '' }));
    assert.equal(noCa.status, 'Error');
  });

  it('connects without verification only when "Ignore SSL Issues" is on', async () => {
    const result = await engine.testCredential('proxmoxApi', credential({ tokenId: token.tokenid, tokenSecret: token.secret, ca: '', ignoreSslIssues: true }));
    assert.equal(result.status, 'OK', result.message);
  });
});
