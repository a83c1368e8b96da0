// The Talos simulator on its own, through the package's gRPC client over real mTLS: maintenance
// mode, configuration and reboots (boot ids), bootstrap once, events with actor ids, kubeconfig
// archive, etcd members and snapshot, services, health check.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { TalosClient } from '../../../nodes/Talos/transport/client.ts';
import { TalosApiError } from '../../../nodes/Talos/transport/errors.ts';
import { unpackEvent } from '../../../nodes/Talos/transport/proto.ts';
import { readTarGz } from '../../../nodes/Talos/transport/tar.ts';
import { TalosSimulator } from './simulator.ts';

const M = 'machine.MachineService';

async function until(what: string, predicate: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function rejects(promise: Promise<unknown>, codeName: string, pattern: RegExp): Promise<TalosApiError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof TalosApiError, String(error));
    assert.equal(error.codeName, codeName, error.message);
    assert.match(error.message, pattern);
    return error;
  }
  assert.fail('expected the call to fail');
}

describe('Talos simulator', () => {
  const sim = new TalosSimulator({ timing: { downMs: 150, bootMs: 80, stopMs: 30 } });
  let admin: TalosClient;
  const [cp1, cp2, worker] = sim.machines;

  before(async () => {
    await sim.start();
    admin = new TalosClient({ endpoints: [sim.endpoint], ca: sim.ca.cert, cert: sim.clientCert.cert, key: sim.clientCert.key });
  });
  after(async () => {
    admin.close();
    await sim.stop();
  });

  it('serves maintenance mode on each machine: self-signed TLS, no client certificate, ApplyConfiguration and Version only', async () => {
    assert.match(sim.clientCert.key, /BEGIN ED25519 PRIVATE KEY/);
    const insecure = new TalosClient({ endpoints: [sim.addressOf(cp1!)], insecure: true });
    try {
      const [version] = await insecure.unary(M, 'Version', {}, { timeoutMs: 3000 });
      assert.equal(version!.platform.mode, 'maintenance');
      await rejects(insecure.unary(M, 'Bootstrap', {}, { timeoutMs: 3000 }), 'UNIMPLEMENTED', /maintenance mode/);
    } finally {
      insecure.close();
    }
    // Through the endpoint, a maintenance node cannot be reached with mTLS.
    await rejects(admin.unary(M, 'Version', {}, { node: cp1!.ip, timeoutMs: 3000 }), 'UNAVAILABLE', /maintenance mode/);
  });

  it('rejects a bad config and applies good ones; the machine installs, reboots with a new boot id and then speaks mTLS', async () => {
    const insecure = new TalosClient({ endpoints: [sim.addressOf(cp1!)], insecure: true });
    try {
      await rejects(insecure.unary(M, 'ApplyConfiguration', { data: Buffer.from('version: v1alpha1\nmachine: {type: router}\n') }, { timeoutMs: 3000 }), 'INVALID_ARGUMENT', /unknown machine type/);
      const dry = await insecure.unary(M, 'ApplyConfiguration', { data: Buffer.from(sim.machineConfig('controlplane', 'cp-1')), dryRun: true }, { timeoutMs: 3000 });
      assert.match(dry[0]!.modeDetails, /Dry run summary/);
      assert.ok(cp1!.maintenance);
    } finally {
      insecure.close();
    }
    const bootIds = new Map(sim.machines.map((m) => [m.ip, m.bootId]));
    for (const [machine, role, name] of [[cp1, 'controlplane', 'cp-1'], [cp2, 'controlplane', 'cp-2'], [worker, 'worker', 'worker-1']] as const) {
      const client = new TalosClient({ endpoints: [sim.addressOf(machine!)], insecure: true });
      const [reply] = await client.unary(M, 'ApplyConfiguration', { data: Buffer.from(sim.machineConfig(role, name)), mode: 'AUTO' }, { timeoutMs: 3000 });
      client.close();
      assert.equal(reply!.mode, 'REBOOT');
    }
    await until('all machines ready', () => sim.machines.every((m) => m.up && m.ready));
    for (const machine of sim.machines) assert.notEqual(machine.bootId, bootIds.get(machine.ip));
    const [version] = await admin.unary(M, 'Version', {}, { node: 'cp-2', timeoutMs: 3000 });
    assert.equal(version!.metadata.hostname, 'cp-2');
    const direct = new TalosClient({ endpoints: [sim.addressOf(worker!)], insecure: true });
    await rejects(direct.unary(M, 'Version', {}, { timeoutMs: 3000 }), 'UNAVAILABLE', /TLS|certificate|handshake|closed|socket/i);
    direct.close();
  });

  it('recovers etcd only from an uploaded snapshot on a control plane; a damaged one leaves etcd failed, not bootstrapped', async () => {
    const body = Buffer.alloc(300 * 1024, 7); // several upload chunks
    const damaged = Buffer.concat([body, createHash('sha256').update('something else').digest()]);
    await rejects(admin.unary(M, 'Bootstrap', { recoverEtcd: true }, { node: cp1!.ip, timeoutMs: 3000 }), 'FAILED_PRECONDITION', /snapshot not found/);
    await rejects(admin.upload(M, 'EtcdRecover', damaged, { node: worker!.ip, timeoutMs: 3000 }), 'FAILED_PRECONDITION', /control plane/);
    const [uploaded] = await admin.upload(M, 'EtcdRecover', damaged, { node: cp1!.ip, timeoutMs: 3000 });
    assert.equal(uploaded!.metadata.hostname, 'cp-1');
    await admin.unary(M, 'Bootstrap', { recoverEtcd: true }, { node: cp1!.ip, timeoutMs: 3000 });
    assert.equal(sim.bootstrapped, false);
    const [services] = await admin.unary(M, 'ServiceList', {}, { node: cp1!.ip, timeoutMs: 3000 });
    const etcd = services!.services.find((s: { id: string }) => s.id === 'etcd');
    assert.equal(etcd.state, 'Failed');
    assert.match(etcd.health.lastMessage, /integrity check failed/);
    assert.equal(sim.recoveredFrom, undefined);
  });

  it('bootstraps once per cluster; the second bootstrap fails like Talos (AlreadyExists)', async () => {
    await rejects(admin.unary(M, 'Bootstrap', {}, { node: worker!.ip, timeoutMs: 3000 }), 'FAILED_PRECONDITION', /control plane/);
    await admin.unary(M, 'Bootstrap', {}, { node: cp1!.ip, timeoutMs: 3000 });
    await rejects(admin.unary(M, 'Bootstrap', {}, { node: cp2!.ip, timeoutMs: 3000 }), 'ALREADY_EXISTS', /etcd data directory is not empty/);
    await until('cp-2 joins etcd', () => sim.etcdMembers.length === 2);
  });

  it('reports cluster health as streamed progress that ends when healthy', async () => {
    const progress: string[] = [];
    for await (const message of admin.stream('cluster.ClusterService', 'HealthCheck', { waitTimeout: { seconds: 5 } }, { timeoutMs: 6000 })) progress.push(message.message);
    assert.ok(progress.includes('waiting for etcd to be healthy: OK'), progress.join('\n'));
    assert.ok(progress.at(-1)!.endsWith(': OK'));
  });

  it('streams the kubeconfig as a .tar.gz holding `kubeconfig`, and an etcd snapshot with its sha256', async () => {
    const archive = await admin.readAll(M, 'Kubeconfig', {}, { node: cp1!.ip, timeoutMs: 3000 });
    const files = readTarGz(archive);
    assert.deepEqual([...files.keys()], ['kubeconfig']);
    assert.match(files.get('kubeconfig')!.toString(), /current-context: admin@/);
    await rejects(admin.readAll(M, 'Kubeconfig', {}, { node: worker!.ip, timeoutMs: 3000 }), 'FAILED_PRECONDITION', /control plane/);

    const snapshot = await admin.readAll(M, 'EtcdSnapshot', {}, { node: cp1!.ip, timeoutMs: 3000 });
    const body = snapshot.subarray(0, -32);
    assert.ok(createHash('sha256').update(body).digest().equals(snapshot.subarray(-32)));
  });

  it('lists and removes etcd members; lists and restarts services', async () => {
    const [list] = await admin.unary(M, 'EtcdMemberList', {}, { node: cp1!.ip, timeoutMs: 3000 });
    assert.deepEqual(list!.members.map((m: { hostname: string }) => m.hostname).sort(), ['cp-1', 'cp-2']);
    const cp2Member = list!.members.find((m: { hostname: string }) => m.hostname === 'cp-2');
    await rejects(admin.unary(M, 'EtcdRemoveMemberByID', { memberId: '12345' }, { node: cp1!.ip, timeoutMs: 3000 }), 'NOT_FOUND', /member not found/);
    await admin.unary(M, 'EtcdRemoveMemberByID', { memberId: cp2Member.id }, { node: cp1!.ip, timeoutMs: 3000 });
    assert.equal(sim.etcdMembers.length, 1);

    const [services] = await admin.unary(M, 'ServiceList', {}, { node: worker!.ip, timeoutMs: 3000 });
    assert.ok(services!.services.some((s: { id: string; state: string }) => s.id === 'kubelet' && s.state === 'Running'));
    const [restart] = await admin.unary(M, 'ServiceRestart', { id: 'kubelet' }, { node: worker!.ip, timeoutMs: 3000 });
    assert.equal(restart!.resp, 'Service "kubelet" restarted');
    await rejects(admin.unary(M, 'ServiceRestart', { id: 'nope' }, { node: worker!.ip, timeoutMs: 3000 }), 'NOT_FOUND', /not found/);
  });

  it('reboots: events carry the actor id, open streams drop with UNAVAILABLE, the node refuses calls for a while, then returns with a new boot id', async () => {
    const before = worker!.bootId;
    const seen: Array<{ type: string; actorId: string; payload: Record<string, any> }> = [];
    const events = admin.stream(M, 'Events', { tailEvents: 0 }, { node: worker!.ip, timeoutMs: 5000 });
    const [reboot] = await admin.unary(M, 'Reboot', {}, { node: worker!.ip, timeoutMs: 3000 });
    assert.ok(reboot!.actorId);
    const dropped = await (async () => {
      try {
        for await (const event of events) {
          const unpacked = unpackEvent(event.data);
          seen.push({ type: unpacked!.type, actorId: event.actorId, payload: unpacked!.payload });
        }
      } catch (error) {
        return error as TalosApiError;
      }
      return undefined;
    })();
    assert.equal(dropped?.codeName, 'UNAVAILABLE');
    assert.ok(seen.some((e) => e.actorId === reboot!.actorId && e.type === 'machine.MachineStatusEvent' && e.payload.stage === 'REBOOTING'));
    await rejects(admin.unary(M, 'Version', {}, { node: worker!.ip, timeoutMs: 2000 }), 'UNAVAILABLE', /connection refused/);
    await until('worker back', () => worker!.up && worker!.ready);
    const id = (await admin.readAll(M, 'Read', { path: '/proc/sys/kernel/random/boot_id' }, { node: worker!.ip, timeoutMs: 3000 })).toString().trim();
    assert.notEqual(id, before);
    assert.equal(id, worker!.bootId);
  });

  it('fails the health check with an error status when a node stays down', async () => {
    await admin.unary(M, 'Shutdown', {}, { node: worker!.ip, timeoutMs: 3000 });
    await until('worker off', () => !worker!.up);
    const progress: string[] = [];
    await rejects(
      (async () => {
        for await (const message of admin.stream('cluster.ClusterService', 'HealthCheck', { waitTimeout: { seconds: 0, nanos: 300_000_000 } }, { timeoutMs: 5000 })) progress.push(message.message);
      })(),
      'DEADLINE_EXCEEDED',
      /connection refused|do not include cp-2/,
    );
    assert.ok(progress.length > 0);
    sim.powerOn(worker!.ip);
    await until('worker on', () => worker!.up && worker!.ready);
  });

  it('upgrades: the node returns with the new version', async () => {
    const [upgrade] = await admin.unary(M, 'Upgrade', { image: 'ghcr.io/siderolabs/installer:v1.9.6' }, { node: cp2!.ip, timeoutMs: 3000 });
    assert.equal(upgrade!.ack, 'Upgrade request received');
    await until('cp-2 down', () => !cp2!.up);
    await until('cp-2 back', () => cp2!.up && cp2!.ready);
    const [version] = await admin.unary(M, 'Version', {}, { node: cp2!.ip, timeoutMs: 3000 });
    assert.equal(version!.version.tag, 'v1.9.6');
  });

  it('requires a client certificate on the endpoint', async () => {
    const anonymous = new TalosClient({ endpoints: [sim.endpoint], ca: sim.ca.cert, cert: '', key: '' });
    await assert.rejects(anonymous.unary(M, 'Version', {}, { timeoutMs: 3000 }), (error: TalosApiError) => error.codeName === 'UNAVAILABLE');
    anonymous.close();
  });
  it('resets: with reboot the node comes back in maintenance mode (new boot id, no configuration, out of etcd); without it powers off; the last etcd member refuses a graceful reset', async () => {
    const before = worker!.bootId;
    const configuredName = worker!.hostname;
    const seen: Array<{ type: string; actorId: string; payload: Record<string, any> }> = [];
    const events = admin.stream(M, 'Events', { tailEvents: 0 }, { node: worker!.ip, timeoutMs: 5000 });
    const [reset] = await admin.unary(M, 'Reset', { graceful: true, reboot: true }, { node: worker!.ip, timeoutMs: 3000 });
    assert.ok(reset!.actorId);
    await (async () => {
      try {
        for await (const event of events) {
          const unpacked = unpackEvent(event.data);
          seen.push({ type: unpacked!.type, actorId: event.actorId, payload: unpacked!.payload });
        }
      } catch {
        // the node went down
      }
    })();
    const mine = seen.filter((e) => e.actorId === reset!.actorId);
    assert.ok(mine.some((e) => e.type === 'machine.MachineStatusEvent' && e.payload.stage === 'RESETTING'));
    assert.ok(mine.some((e) => e.type === 'machine.TaskEvent' && e.payload.task === 'resetSystemDisk'));
    await until('worker back in maintenance mode', () => worker!.up && worker!.maintenance);
    assert.notEqual(worker!.bootId, before);
    assert.equal(worker!.config, undefined);
    assert.equal(worker!.role, undefined);
    assert.notEqual(worker!.hostname, configuredName);
    const insecure = new TalosClient({ endpoints: [sim.addressOf(worker!)], insecure: true });
    try {
      const [version] = await insecure.unary(M, 'Version', {}, { timeoutMs: 3000 });
      assert.equal(version!.platform.mode, 'maintenance');
    } finally {
      insecure.close();
    }
    await rejects(admin.unary(M, 'Version', {}, { node: worker!.ip, timeoutMs: 2000 }), 'UNAVAILABLE', /maintenance mode/);

    assert.ok(sim.etcdMembers.some((m) => m.ip === cp2!.ip));
    await admin.unary(M, 'Reset', { graceful: true, reboot: false }, { node: cp2!.ip, timeoutMs: 3000 });
    await until('cp-2 off', () => !cp2!.up);
    assert.equal(cp2!.poweredOff, true);
    assert.ok(!sim.etcdMembers.some((m) => m.ip === cp2!.ip), 'the reset node left etcd');
    await rejects(admin.unary(M, 'Version', {}, { node: cp2!.ip, timeoutMs: 2000 }), 'UNAVAILABLE', /connection refused/);

    await rejects(admin.unary(M, 'Reset', { graceful: true, reboot: true }, { node: cp1!.ip, timeoutMs: 3000 }), 'FAILED_PRECONDITION', /last member/);
    await admin.unary(M, 'Reset', { graceful: false, reboot: true }, { node: cp1!.ip, timeoutMs: 3000 });
    await until('cp-1 back in maintenance mode', () => cp1!.up && cp1!.maintenance);
    assert.deepEqual(sim.etcdMembers, []);
    assert.equal(sim.bootstrapped, false, 'without members the cluster can be bootstrapped (or recovered) again');
  });
});
