// The Proxmox VE simulator itself: envelope, auth (token, ticket + CSRF, expiry, renewal, TOTP
// second factor with partial tickets, the PVE ≤ 7.0 login, privileges),
// errors, UPID task lifecycle, locks (lock waits and timeouts, `lock: clone`), VMIDs, cloud-init
// sshkeys encoding, injected transient failures and call counting.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { api, type ApiAuth } from './proxmox/client.ts';
import { totpAt } from './proxmox/auth.ts';
import { DEFAULT_TOKENS, ProxmoxSimulator, TOTP_USER } from './proxmox/server.ts';
import { parseUpid } from './proxmox/tasks.ts';

const TOKEN: ApiAuth = { token: `${DEFAULT_TOKENS[0]!.tokenid}=${DEFAULT_TOKENS[0]!.secret}` };
const READONLY: ApiAuth = { token: `${DEFAULT_TOKENS[1]!.tokenid}=${DEFAULT_TOKENS[1]!.secret}` };
const SSH_KEYS = [
  'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOqk3pX+/q9Z2r7cM0vN4hU5a6b7c8d9e0f1g2h3i4j5 alice@laptop',
  'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7+zq/8xYw== bob key with spaces',
];

async function sleep(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

describe('Proxmox VE simulator', () => {
  let sim: ProxmoxSimulator;
  const call = (method: string, path: string, params?: Record<string, string | number>, auth: ApiAuth = TOKEN) =>
    api(sim.url, sim.caPem, method, path, { params, auth });

  /** Polls a task to its end (bounded). */
  async function waitTask(upid: string, timeoutMs = 10_000): Promise<Record<string, unknown>> {
    const node = parseUpid(upid)!.node;
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const res = await call('GET', `/nodes/${node}/tasks/${encodeURIComponent(upid)}/status`);
      const status = res.body.data as Record<string, unknown>;
      if (status.status === 'stopped') return status;
      await sleep(10);
    }
    throw new Error(`task ${upid} did not finish`);
  }

  async function logOf(upid: string): Promise<string[]> {
    const res = await call('GET', `/nodes/${parseUpid(upid)!.node}/tasks/${encodeURIComponent(upid)}/log`, { start: 0, limit: 500 });
    return (res.body.data as Array<{ t: string }>).map((l) => l.t);
  }

  before(async () => {
    sim = await ProxmoxSimulator.start({ timeScale: 0.02, lockWaitMs: 300, cloneSourceLockMs: 100, ticketLifetimeMs: 60_000 });
  });
  after(async () => {
    await sim.close();
  });

  describe('transport and auth', () => {
    it('answers in the {data} envelope over HTTPS signed by its own CA', async () => {
      const res = await call('GET', '/version');
      assert.equal(res.status, 200);
      assert.equal((res.body.data as { release: string }).release, '8.3');
      await assert.rejects(api(sim.url, '', 'GET', '/version', { auth: TOKEN }), /self-signed|unable to (get|verify)/i);
    });

    it('refuses missing or wrong credentials with 401', async () => {
      const none = await api(sim.url, sim.caPem, 'GET', '/nodes');
      assert.equal(none.status, 401);
      assert.equal(none.reason, 'No ticket');
      const wrong = await call('GET', '/nodes', undefined, { token: 'root@pam!n8n=00000000-0000-0000-0000-000000000000' });
      assert.equal(wrong.status, 401);
      const badPassword = await call('POST', '/access/ticket', { username: 'root@pam', password: 'nope' }, {});
      assert.equal(badPassword.status, 401);
      assert.equal(badPassword.reason, 'authentication failure');
    });

    it('ticket auth: cookie for reads, CSRFPreventionToken required on writes', async () => {
      const login = await call('POST', '/access/ticket', { username: 'root', realm: 'pam', password: 'proxmox-root-pw' }, {});
      assert.equal(login.status, 200);
      const { ticket, CSRFPreventionToken } = login.body.data as { ticket: string; CSRFPreventionToken: string };
      assert.match(ticket, /^PVE:root@pam:/);
      assert.equal((await call('GET', '/nodes', undefined, { ticket })).status, 200);
      const noCsrf = await call('PUT', '/nodes/pve1/qemu/101/config', { description: 'x' }, { ticket });
      assert.equal(noCsrf.status, 401);
      assert.equal(noCsrf.reason, 'Permission denied - invalid csrf token');
      const ok = await call('PUT', '/nodes/pve1/qemu/101/config', { description: 'x' }, { ticket, csrf: CSRFPreventionToken });
      // 101 lives on pve2: the request is authenticated, the VM is just not on pve1.
      assert.equal(ok.status, 500);
      assert.equal(ok.reason, "Configuration file 'nodes/pve1/qemu-server/101.conf' does not exist");
    });

    it('tickets expire', async () => {
      const short = await ProxmoxSimulator.start({ ticketLifetimeMs: 150, certificates: sim.certificates });
      try {
        const login = await api(short.url, short.caPem, 'POST', '/access/ticket', { params: { username: 'root@pam', password: 'proxmox-root-pw' } });
        const { ticket } = login.body.data as { ticket: string };
        assert.equal((await api(short.url, short.caPem, 'GET', '/nodes', { auth: { ticket } })).status, 200);
        await sleep(200);
        const expired = await api(short.url, short.caPem, 'GET', '/nodes', { auth: { ticket } });
        assert.equal(expired.status, 401);
        assert.equal(expired.reason, 'permission denied - invalid PVE ticket');
      } finally {
        await short.close();
      }
    });

    it('a valid ticket as the password renews it; an expired one does not', async () => {
      const short = await ProxmoxSimulator.start({ ticketLifetimeMs: 300, certificates: sim.certificates });
      try {
        const login = await api(short.url, short.caPem, 'POST', '/access/ticket', { params: { username: 'root@pam', password: 'proxmox-root-pw' } });
        const { ticket } = login.body.data as { ticket: string };
        await sleep(150);
        const renewed = await api(short.url, short.caPem, 'POST', '/access/ticket', { params: { username: 'root@pam', password: ticket } });
        assert.equal(renewed.status, 200);
        const next = renewed.body.data as { ticket: string; CSRFPreventionToken: string };
        assert.notEqual(next.ticket, ticket);
        assert.equal(short.stats().renewals, 1);
        await sleep(200);
        // The first ticket is past its 300 ms; the renewed one is not.
        assert.equal((await api(short.url, short.caPem, 'GET', '/nodes', { auth: { ticket } })).status, 401);
        assert.equal((await api(short.url, short.caPem, 'GET', '/nodes', { auth: { ticket: next.ticket } })).status, 200);
        const late = await api(short.url, short.caPem, 'POST', '/access/ticket', { params: { username: 'root@pam', password: ticket } });
        assert.equal(late.status, 401);
        assert.equal(late.reason, 'authentication failure');
      } finally {
        await short.close();
      }
    });

    it('TOTP: the password step gives a partial ticket no API call accepts; the code step gives the ticket', async () => {
      sim.resetStats();
      const first = await call('POST', '/access/ticket', { username: 'automation', realm: 'pve', password: TOTP_USER.password, 'new-format': 1 }, {});
      assert.equal(first.status, 200);
      const partial = first.body.data as { ticket: string; NeedTFA?: number; username: string; CSRFPreventionToken: string; cap?: unknown };
      assert.match(partial.ticket, /^PVE:!tfa!%7B%22totp%22%3Atrue%7D:[0-9A-F]+/);
      assert.equal(partial.NeedTFA, 1);
      assert.equal(partial.username, TOTP_USER.userid);
      assert.equal(partial.cap, undefined);
      // Not a login: refused for reads and writes, and as a renewal.
      const read = await call('GET', '/nodes', undefined, { ticket: partial.ticket });
      assert.equal(read.status, 401);
      assert.equal(read.reason, 'permission denied - invalid PVE ticket');
      assert.equal((await call('POST', '/nodes/pve1/qemu/100/status/stop', undefined, { ticket: partial.ticket, csrf: partial.CSRFPreventionToken })).status, 401);
      assert.equal((await call('POST', '/access/ticket', { username: TOTP_USER.userid, password: partial.ticket }, {})).status, 401);

      const step = Math.floor(Date.now() / 30_000);
      const answer = (password: string, challenge = partial.ticket, extra: Record<string, string> = {}) =>
        call('POST', '/access/ticket', { username: TOTP_USER.userid, 'tfa-challenge': challenge, password, ...extra }, {});
      const wrong = await answer(`totp:${totpAt(TOTP_USER.totp.secret, step + 5)}`);
      assert.equal(wrong.status, 401);
      assert.equal(wrong.reason, 'authentication failure');
      assert.equal((await answer(totpAt(TOTP_USER.totp.secret, step))).status, 401, 'the answer needs its totp: prefix');
      assert.equal((await answer('x', partial.ticket, { otp: `totp:${totpAt(TOTP_USER.totp.secret, step)}` })).status, 401, 'otp with tfa-challenge');
      const forged = partial.ticket.replace(/::.*$/, '::Zm9yZ2Vk');
      assert.equal((await answer(`totp:${totpAt(TOTP_USER.totp.secret, step)}`, forged)).status, 401, 'a forged challenge');
      assert.equal(sim.stats().tfaFailures, 4);

      const done = await answer(`totp:${totpAt(TOTP_USER.totp.secret, step)}`);
      assert.equal(done.status, 200);
      const full = done.body.data as { ticket: string; CSRFPreventionToken: string; NeedTFA?: number };
      assert.match(full.ticket, /^PVE:automation@pve:/);
      assert.equal(full.NeedTFA, undefined);
      assert.equal((await call('GET', '/nodes', undefined, { ticket: full.ticket })).status, 200);
      // The full ticket renews without a second factor.
      assert.equal((await call('POST', '/access/ticket', { username: TOTP_USER.userid, password: full.ticket }, {})).status, 200);
      // Both factors at once: otp=totp:<code> with the password.
      const once = await call('POST', '/access/ticket', { username: TOTP_USER.userid, password: TOTP_USER.password, otp: `totp:${totpAt(TOTP_USER.totp.secret, step)}` }, {});
      assert.match((once.body.data as { ticket: string }).ticket, /^PVE:automation@pve:/);
      // A wrong password never reaches the second factor.
      const badPassword = await call('POST', '/access/ticket', { username: TOTP_USER.userid, password: 'nope' }, {});
      assert.equal(badPassword.status, 401);
      assert.equal(sim.stats().tfaChallenges, 1);
    });

    it('TOTP: codes of the previous and next 30 s step are accepted (as proxmox-tfa), two steps away are not', async () => {
      // RFC 6238 appendix B (SHA-1, secret "12345678901234567890"), last 6 digits.
      const rfc = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ';
      assert.deepEqual([59, 1111111109, 1234567890, 20000000000].map((t) => totpAt(rfc, Math.floor(t / 30))), ['287082', '081804', '005924', '353130']);
      const secret = TOTP_USER.totp.secret;
      const step = Math.floor(Date.now() / 30_000);
      const results: Record<string, number> = {};
      for (const delta of [-2, -1, 0, 1, 2]) {
        const first = await call('POST', '/access/ticket', { username: TOTP_USER.userid, password: TOTP_USER.password }, {});
        const challenge = (first.body.data as { ticket: string }).ticket;
        // Pin the simulator's TOTP clock to `step` for the check (the test may cross a step boundary).
        sim.auth.totpClockOffsetMs = step * 30_000 + 15_000 - Date.now();
        const res = await call('POST', '/access/ticket', { username: TOTP_USER.userid, 'tfa-challenge': challenge, password: `totp:${totpAt(secret, step + delta)}` }, {});
        sim.auth.totpClockOffsetMs = 0;
        results[String(delta)] = res.status;
      }
      assert.deepEqual(results, { '-2': 401, '-1': 200, '0': 200, '1': 200, '2': 401 });
    });

    it('TOTP on a PVE ≤ 7.0 server: no new-format / tfa-challenge (400), the bare code as otp with the password', async () => {
      const old = await ProxmoxSimulator.start({ legacyLogin: true, certificates: sim.certificates });
      try {
        const post = (params: Record<string, string>) => api(old.url, old.caPem, 'POST', '/access/ticket', { params });
        const modern = await post({ username: TOTP_USER.userid, password: TOTP_USER.password, 'new-format': '1' });
        assert.equal(modern.status, 400);
        assert.ok(modern.body.errors?.['new-format']);
        assert.equal((await post({ username: TOTP_USER.userid, password: TOTP_USER.password })).status, 401, 'no otp');
        const code = totpAt(TOTP_USER.totp.secret, Math.floor(Date.now() / 30_000));
        const ok = await post({ username: TOTP_USER.userid, password: TOTP_USER.password, otp: code });
        assert.equal(ok.status, 200);
        assert.match((ok.body.data as { ticket: string }).ticket, /^PVE:automation@pve:/);
        assert.equal((await post({ username: 'root@pam', password: 'proxmox-root-pw' })).status, 200, 'users without TOTP as before');
      } finally {
        await old.close();
      }
    });

    it('a privilege-separated token without VM.PowerMgmt gets 403 naming the path and privilege', async () => {
      const res = await call('POST', '/nodes/pve1/qemu/100/status/stop', undefined, READONLY);
      assert.equal(res.status, 403);
      assert.equal(res.reason, 'Permission check failed (/vms/100, VM.PowerMgmt)');
      assert.equal((await call('GET', '/nodes/pve1/qemu', undefined, READONLY)).status, 200);
    });
  });

  describe('errors', () => {
    it('a missing VM is a 500 saying its configuration file does not exist (no 404)', async () => {
      const res = await call('GET', '/nodes/pve1/qemu/4242/status/current');
      assert.equal(res.status, 500);
      assert.equal(res.body.message, "Configuration file 'nodes/pve1/qemu-server/4242.conf' does not exist\n");
      const ct = await call('GET', '/nodes/pve1/lxc/4242/config');
      assert.equal(ct.reason, "Configuration file 'nodes/pve1/lxc/4242.conf' does not exist");
    });

    it('parameter verification lists every problem', async () => {
      const res = await call('POST', '/nodes/pve1/qemu/9000/clone', { newid: 12, full: 'maybe', colour: 'red' });
      assert.equal(res.status, 400);
      assert.equal(res.reason, 'Parameter verification failed.');
      assert.deepEqual(res.body.errors, {
        newid: 'value must have a minimum value of 100',
        full: "type check ('boolean') failed - got 'maybe'",
        colour: 'property is not defined in schema and the schema does not allow additional properties',
      });
    });

    it('unknown paths are 501', async () => {
      assert.equal((await call('GET', '/nodes/pve1/frobnicate')).status, 501);
    });
  });

  describe('tasks', () => {
    it('a long operation answers with a UPID and runs: running → stopped/OK, log ends with TASK OK', async () => {
      const res = await call('POST', '/nodes/pve2/qemu/101/status/start');
      const upid = res.body.data as string;
      assert.match(upid, /^UPID:pve2:[0-9A-F]{8}:[0-9A-F]{8,9}:[0-9A-F]{8}:qmstart:101:root@pam!n8n:$/);
      const first = await call('GET', `/nodes/pve2/tasks/${encodeURIComponent(upid)}/status`);
      assert.equal((first.body.data as { status: string }).status, 'running');
      const done = await waitTask(upid);
      assert.equal(done.exitstatus, 'OK');
      assert.equal((await logOf(upid)).at(-1), 'TASK OK');
      assert.equal(sim.guest(101)?.status, 'running');
    });

    it('starting a running VM is not refused up front: the task ends with an error exit status', async () => {
      const res = await call('POST', '/nodes/pve2/qemu/101/status/start');
      assert.equal(res.status, 200);
      const done = await waitTask(res.body.data as string);
      assert.equal(done.exitstatus, 'VM 101 already running');
      assert.equal((await logOf(res.body.data as string)).at(-1), 'TASK ERROR: VM 101 already running');
    });

    it('scripted outcomes: WARNINGS: N (work done) and an error text (nothing done)', async () => {
      sim.scriptTask({ type: 'qmstop', exit: 'WARNINGS: 2', log: ['volume deactivation slow', 'guest agent not running'] });
      const warned = await waitTask((await call('POST', '/nodes/pve2/qemu/101/status/stop')).body.data as string);
      assert.equal(warned.exitstatus, 'WARNINGS: 2');
      assert.equal(sim.guest(101)?.status, 'stopped');
      sim.scriptTask({ type: 'qmstart', id: 101, exit: 'start failed: QEMU exited with code 1', log: ['kvm: -drive: Could not open'] });
      const upid = (await call('POST', '/nodes/pve2/qemu/101/status/start')).body.data as string;
      const failed = await waitTask(upid);
      assert.equal(failed.exitstatus, 'start failed: QEMU exited with code 1');
      assert.deepEqual(await logOf(upid), ['kvm: -drive: Could not open', 'TASK ERROR: start failed: QEMU exited with code 1']);
      assert.equal(sim.guest(101)?.status, 'stopped');
    });
  });

  describe('locks and clones', () => {
    it('a clone locks its target (`lock: clone`); operations on it fail with "VM is locked (clone)" until it is done', async () => {
      const res = await call('POST', '/nodes/pve1/qemu/9000/clone', { newid: 300, name: 'clone-300', full: 1 });
      assert.equal(res.status, 200, res.reason);
      const config = await call('GET', '/nodes/pve1/qemu/300/config');
      assert.equal((config.body.data as { lock: string }).lock, 'clone');
      const update = await call('PUT', '/nodes/pve1/qemu/300/config', { memory: '1024' });
      assert.equal(update.status, 500);
      assert.equal(update.reason, 'VM is locked (clone)');
      const start = await call('POST', '/nodes/pve1/qemu/300/status/start');
      assert.equal((await waitTask(start.body.data as string)).exitstatus, 'VM is locked (clone)');
      assert.equal((await waitTask(res.body.data as string)).exitstatus, 'OK');
      const after = (await call('GET', '/nodes/pve1/qemu/300/config')).body.data as Record<string, unknown>;
      assert.equal(after.lock, undefined);
      assert.equal(after.name, 'clone-300');
      assert.equal(after.scsi0, 'ceph:vm-300-disk-0,size=3584M');
      assert.equal(after.template, undefined);
    });

    it('parallel clones of one template contend for the source lock; waiters past the lock wait get "got timeout"', async () => {
      const before = sim.stats().lockTimeouts;
      sim.lockWaitMs = 150;
      let results: Awaited<ReturnType<typeof call>>[];
      try {
        results = await Promise.all(Array.from({ length: 8 }, (_, i) => call('POST', '/nodes/pve1/qemu/9000/clone', { newid: 310 + i })));
      } finally {
        sim.lockWaitMs = 300;
      }
      const timeouts = results.filter((r) => r.status === 500);
      // Each clone holds the source lock 100 ms, waiters give up after 150 ms: most of 8 time out.
      assert.ok(timeouts.length >= 2, `expected lock timeouts, got ${results.map((r) => r.status).join(',')}`);
      for (const r of timeouts) assert.equal(r.reason, "can't lock file '/var/lock/qemu-server/lock-9000.conf' - got timeout");
      assert.equal(sim.stats().lockTimeouts - before, timeouts.length);
      for (const r of results.filter((x) => x.status === 200)) assert.equal((await waitTask(r.body.data as string)).exitstatus, 'OK');
    });

    it('linked clones need a template; storage is only for full clones', async () => {
      const linked = await call('POST', '/nodes/pve1/qemu/100/clone', { newid: 320, full: 0 });
      assert.equal(linked.reason, 'Linked clone feature for VM 100 is only possible from a template');
      const storage = await call('POST', '/nodes/pve1/qemu/9000/clone', { newid: 320, full: 0, storage: 'local-lvm' });
      assert.equal(storage.reason, "parameter 'storage' not allowed for linked clones");
    });
  });

  describe('VMIDs', () => {
    it('nextid is the lowest free id and reserves nothing; ?vmid= of a taken id is a 400', async () => {
      const a = await call('GET', '/cluster/nextid');
      const b = await call('GET', '/cluster/nextid');
      assert.equal(a.body.data, b.body.data);
      assert.equal(a.body.data, '102');
      const taken = await call('GET', '/cluster/nextid', { vmid: 100 });
      assert.equal(taken.status, 400);
      assert.deepEqual(taken.body.errors, { vmid: 'VM 100 already exists' });
      assert.equal((await call('GET', '/cluster/nextid', { vmid: 5555 })).body.data, '5555');
    });

    it('creating or cloning onto a taken id fails with "already exists on node"', async () => {
      const clone = await call('POST', '/nodes/pve1/qemu/9000/clone', { newid: 100 });
      assert.equal(clone.status, 500);
      assert.equal(clone.reason, "unable to create VM 100 - VM 100 already exists on node 'pve1'");
      const create = await call('POST', '/nodes/pve1/qemu', { vmid: 200, memory: '512' });
      assert.equal(create.reason, "unable to create VM 200 - CT 200 already exists on node 'pve1'");
    });
  });

  describe('cloud-init', () => {
    it('sshkeys must be percent-encoded; the drive gets the decoded keys', async () => {
      const raw = await call('PUT', '/nodes/pve1/qemu/100/config', { sshkeys: SSH_KEYS.join('\n') });
      assert.equal(raw.status, 400);
      assert.match(raw.body.errors!.sshkeys!, /^invalid urlencoded string: ssh-ed25519 /);
      // Python's quote() leaves '/' alone: refused as well.
      const halfEncoded = encodeURIComponent(SSH_KEYS.join('\n')).replace(/%2F/g, '/');
      assert.equal((await call('PUT', '/nodes/pve1/qemu/100/config', { sshkeys: halfEncoded })).status, 400);

      const encoded = encodeURIComponent(SSH_KEYS.join('\n'));
      const ok = await call('PUT', '/nodes/pve1/qemu/100/config', { sshkeys: encoded, ciuser: 'deploy', ipconfig0: 'ip=10.0.0.50/24,gw=10.0.0.1' });
      assert.equal(ok.status, 200, ok.reason);
      const config = (await call('GET', '/nodes/pve1/qemu/100/config')).body.data as Record<string, string>;
      assert.equal(config.sshkeys, encoded);
      assert.equal((await call('PUT', '/nodes/pve1/qemu/100/cloudinit')).status, 200);
      assert.deepEqual(sim.guest(100)?.cloudInit?.sshKeys, SSH_KEYS);
      assert.equal(sim.guest(100)?.cloudInit?.user, 'deploy');
      assert.deepEqual(sim.guest(100)?.cloudInit?.ipconfig, { ipconfig0: 'ip=10.0.0.50/24,gw=10.0.0.1' });

      const badIp = await call('PUT', '/nodes/pve1/qemu/100/config', { ipconfig0: 'ip=10.0.0.300/24' });
      assert.equal(badIp.status, 400);
      const notAKey = await call('PUT', '/nodes/pve1/qemu/100/config', { sshkeys: encodeURIComponent('hello world') });
      assert.equal(notAKey.reason, 'SSH public key validation error');
    });
  });

  describe('transient failures and counting', () => {
    it('injected failures hit the next matching call only; stats count calls and status polls', async () => {
      sim.resetStats();
      sim.injectFailure({ kind: 'no-worker', path: /status\/start$/ });
      const failed = await call('POST', '/nodes/pve1/lxc/200/status/stop');
      assert.equal(failed.status, 200);
      const noWorker = await call('POST', '/nodes/pve1/qemu/100/status/start');
      assert.equal(noWorker.status, 500);
      assert.equal(noWorker.reason, 'got no worker upid - start worker failed');
      await waitTask(failed.body.data as string);
      const stats = sim.stats();
      assert.equal(stats.injectedFailures, 1);
      assert.ok(stats.statusPolls >= 1);
      assert.equal(stats.calls, 2 + stats.statusPolls);
      assert.equal(stats.byRoute['POST /nodes/{node}/lxc/{vmid}/status/stop'], 1);
      assert.ok((stats.taskDurationByType.vzstop ?? 0) > 0);
    });

    it('an after-effect failure reports an error although the work was done', async () => {
      sim.injectFailure({ kind: 'http-503', path: '/nodes/{node}/qemu/{vmid}/snapshot', afterEffect: true });
      const res = await call('POST', '/nodes/pve1/qemu/100/snapshot', { snapname: 'before-upgrade' });
      assert.equal(res.status, 503);
      await sim.idle();
      assert.deepEqual(sim.guest(100)?.snapshots.map((s) => s.name), ['before-upgrade']);
      const again = await call('POST', '/nodes/pve1/qemu/100/snapshot', { snapname: 'before-upgrade' });
      assert.equal((await waitTask(again.body.data as string)).exitstatus, "snapshot name 'before-upgrade' already used");
    });
  });
});
