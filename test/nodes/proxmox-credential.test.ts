// The Proxmox VE API credential's "Test credential" request (n8n's credential tester on the
// real engine) against the simulator: token and ticket auth, the TOTP second factor (both login
// steps run in preAuthentication, which n8n calls before the declarative test request), the
// PVE ≤ 7.0 login, CA pinning, the insecure switch; the node's TOTP codes against RFC 6238.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createEngine, type Engine, type StoredCredential } from './engine.ts';
import { generateCertificates } from '../simulators/proxmox/certs.ts';
import { totpAt } from '../simulators/proxmox/auth.ts';
import { DEFAULT_TOKENS, ProxmoxSimulator, TOTP_USER } from '../simulators/proxmox/server.ts';

const { ProxmoxApi } = await import('../../credentials/ProxmoxApi.credentials.ts');
const { totp } = await import('../../nodes/Proxmox/transport/totp.ts');

/** A valid base32 secret that is not the user's. */
const OTHER_SECRET = 'KRUGS4ZANFZSA3TPOQQHI2DFEBZWKY3SMV2A';

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

  it('TOTP user: passes with the TOTP secret (password step, then the code); fails clearly with a wrong secret or none', async () => {
    sim.resetStats();
    const stored = credential({ authMethod: 'ticket', username: 'automation', realm: 'pve', password: TOTP_USER.password, totpSecret: TOTP_USER.totp.secret });
    engine.setCredentials('proxmoxApi', stored);
    const ok = await engine.testCredential('proxmoxApi', stored);
    assert.deepEqual(ok, { status: 'OK', message: 'Connection successful!' });
    assert.deepEqual([sim.stats().tfaChallenges, sim.stats().logins, sim.stats().tfaFailures], [1, 1, 0]);
    assert.match(String(stored.data.session), /^\{"ticket":"PVE:automation@pve:/, 'the full ticket is stored, not the partial one');

    sim.resetStats();
    const wrongSecret = credential({ authMethod: 'ticket', username: TOTP_USER.userid, password: TOTP_USER.password, totpSecret: OTHER_SECRET });
    engine.setCredentials('proxmoxApi', wrongSecret);
    const wrong = await engine.testCredential('proxmoxApi', wrongSecret);
    assert.equal(wrong.status, 'Error');
    assert.match(wrong.message, /TOTP code for automation@pve refused/);
    assert.equal(sim.stats().tfaFailures, 1, 'one code sent, not retried');
    assert.doesNotMatch(wrong.message, new RegExp(`${OTHER_SECRET}|${TOTP_USER.password}|PVE:`));

    const noSecret = credential({ authMethod: 'ticket', username: TOTP_USER.userid, password: TOTP_USER.password });
    engine.setCredentials('proxmoxApi', noSecret);
    const missing = await engine.testCredential('proxmoxApi', noSecret);
    assert.equal(missing.status, 'Error');
    assert.match(missing.message, /automation@pve has two-factor authentication\. Fill in the credential's TOTP Secret/);

    const badBase32 = credential({ authMethod: 'ticket', username: TOTP_USER.userid, password: TOTP_USER.password, totpSecret: 'not-base32-1890!' });
    engine.setCredentials('proxmoxApi', badBase32);
    const bad = await engine.testCredential('proxmoxApi', badBase32);
    assert.equal(bad.status, 'Error');
    assert.match(bad.message, /the TOTP secret is not base32/);
    assert.doesNotMatch(bad.message, /not-base32-1890/);
  });

  it('TOTP user on a PVE ≤ 7.0 server: the code goes with the password as otp', async () => {
    const old = await ProxmoxSimulator.start({ timeScale: 0.02, legacyLogin: true, certificates: sim.certificates });
    try {
      const stored: StoredCredential = {
        id: 'c1',
        name: 'Proxmox',
        data: { baseUrl: old.url, ca: old.caPem, authMethod: 'ticket', username: TOTP_USER.userid, password: TOTP_USER.password, totpSecret: TOTP_USER.totp.secret },
      };
      engine.setCredentials('proxmoxApi', stored);
      const ok = await engine.testCredential('proxmoxApi', stored);
      assert.equal(ok.status, 'OK', ok.message);
      assert.deepEqual([old.stats().logins, old.stats().tfaChallenges], [1, 0]);
      const wrong: StoredCredential = { ...stored, data: { ...stored.data, totpSecret: OTHER_SECRET, session: '' } };
      engine.setCredentials('proxmoxApi', wrong);
      const failed = await engine.testCredential('proxmoxApi', wrong);
      assert.equal(failed.status, 'Error');
      assert.match(failed.message, /username, realm and password and TOTP Secret/);
    } finally {
      await old.close();
    }
  });

  it('TOTP codes: RFC 6238 vectors (SHA-1, 30 s, last 6 digits); the node and the simulator agree', () => {
    const rfc = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ'; // "12345678901234567890"
    const times = [59, 1111111109, 1111111111, 1234567890, 2000000000, 20000000000];
    assert.deepEqual(times.map((t) => totp(rfc, t * 1000)), ['287082', '081804', '050471', '005924', '279037', '353130']);
    // Grouped, lower-case and padded forms of one secret give the same code.
    assert.equal(totp('jbsw y3dp ehpk 3pxp jbsw y3dp ehpk 3pxp', 1e12), totp(TOTP_USER.totp.secret, 1e12));
    assert.equal(totp(`${TOTP_USER.totp.secret}====`, 1e12), totpAt(TOTP_USER.totp.secret, Math.floor(1e12 / 30_000)));
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
