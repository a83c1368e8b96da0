// The Proxmox node on the real n8n engine (n8n-core WorkflowExecute) against the Proxmox VE
// simulator over HTTPS: every operation family, token and ticket auth (CSRF, login again when the
// ticket expires, also in the middle of a run; the TOTP second factor; no secret in errors or
// logs), CA pinning, task results (OK / WARNINGS / error with exit status and log tail), retries of
// transient failures, lock waits, sshkeys encoding, dry runs, continueOnFail, and the issue's
// done-when test: one template cloned 50 times in parallel under lock contention.

import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import type { IDataObject, NodeApiError } from 'n8n-workflow';
import { createEngine, type Engine, type StoredCredential, type WorkflowJson, type WorkflowNodeJson } from './engine.ts';
import { generateCertificates } from '../simulators/proxmox/certs.ts';
import { totpAt } from '../simulators/proxmox/auth.ts';
import { api } from '../simulators/proxmox/client.ts';
import { DEFAULT_TOKENS, ProxmoxSimulator, TOTP_USER } from '../simulators/proxmox/server.ts';

const { Proxmox } = await import('../../nodes/Proxmox/Proxmox.node.ts');
const { ProxmoxApi } = await import('../../credentials/ProxmoxApi.credentials.ts');
const { sessionScope } = await import('../../nodes/Proxmox/transport/login.ts');

const START = 'When clicking ‘Execute workflow’';
const TOKEN = DEFAULT_TOKENS[0]!;
const READONLY = DEFAULT_TOKENS[1]!;
/** Fast polling and retries for a simulator running at 1/50 of real task durations. */
const FAST = { pollInterval: 20, retryDelay: 20, taskTimeout: 30, lockWaitTimeout: 30 };
const SSH_KEYS = [
  'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOqk3pX+/q9Z2r7cM0vN4hU5a6b7c8d9e0f1g2h3i4j5 alice@laptop',
  'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7+zq/8xYw== bob key with spaces',
];

function workflow(nodes: WorkflowNodeJson[]): WorkflowJson {
  const all: WorkflowNodeJson[] = [{ name: START, type: 'n8n-nodes-base.manualTrigger', parameters: {} }, ...nodes];
  const connections: WorkflowJson['connections'] = {};
  for (let i = 0; i + 1 < all.length; i++) connections[all[i]!.name] = { main: [[{ node: all[i + 1]!.name, type: 'main', index: 0 }]] };
  return { nodes: all, connections };
}

function proxmox(parameters: IDataObject, extra: Partial<WorkflowNodeJson> = {}, name = 'Proxmox'): WorkflowNodeJson {
  return { name, type: 'n8n-nodes-cortex.proxmox', parameters: parameters as WorkflowNodeJson['parameters'], ...extra };
}

const id = (vmid: number | string) => ({ mode: 'id', value: String(vmid) });

/** Every string reachable from `value` (own properties, enumerable or not: message, stack, cause, description…). */
function stringsIn(value: unknown, seen = new Set<unknown>(), depth = 0): string[] {
  if (typeof value === 'string') return [value];
  if (value === null || typeof value !== 'object' || seen.has(value) || depth > 8) return [];
  seen.add(value);
  const out: string[] = [];
  for (const key of Object.getOwnPropertyNames(value)) {
    out.push(key, ...stringsIn((value as Record<string, unknown>)[key], seen, depth + 1));
  }
  return out;
}

/** Fails if a password, TOTP secret, TOTP code of the last/next minute or ticket is in `texts`. */
function assertNoSecrets(texts: string[], secrets: string[], what: string): void {
  const step = Math.floor(Date.now() / 30_000);
  const codes = secrets.filter((x) => /^[A-Z2-7]{16,}$/.test(x)).flatMap((secret) => [-2, -1, 0, 1, 2].map((d) => totpAt(secret, step + d)));
  for (const text of texts) {
    for (const secret of secrets) assert.ok(!text.includes(secret), `${what} holds a secret: ${text.slice(0, 200)}`);
    for (const code of codes) assert.doesNotMatch(text, new RegExp(`(^|[^0-9])${code}([^0-9]|$)`), `${what} holds a TOTP code`);
    assert.doesNotMatch(text, /PVE:[^\s'"]*::|PVE:!tfa!|PVEAuthCookie=/, `${what} holds a ticket`);
  }
}

// n8n's Logger (Container) and LoggerProxy, recorded: what n8n-core and a node would log.
const require = createRequire(import.meta.url);
const { Container }: typeof import('@n8n/di') = require('@n8n/di');
const { Logger }: typeof import('@n8n/backend-common') = require('@n8n/backend-common');
const { LoggerProxy }: typeof import('n8n-workflow') = require('n8n-workflow');

async function withRecordedLogs<T>(fn: () => Promise<T>): Promise<{ value: T; logs: string[] }> {
  const previous = Container.get(Logger);
  const logs: string[] = [];
  const record = (level: string) => (message: string, metadata: unknown = {}) => {
    logs.push(`${level} ${message}`, ...stringsIn(metadata));
  };
  const recorder = { error: record('error'), warn: record('warn'), info: record('info'), debug: record('debug'), scoped: () => recorder };
  Container.set(Logger, recorder as unknown as InstanceType<typeof Logger>);
  LoggerProxy.init(recorder);
  try {
    return { value: await fn(), logs };
  } finally {
    Container.set(Logger, previous);
    LoggerProxy.init(previous);
  }
}

describe('Proxmox node on the n8n engine', () => {
  let sim: ProxmoxSimulator;
  let engine: Engine;
  const tokenCredential = (): StoredCredential => ({
    id: 'pve-token',
    name: 'PVE token',
    data: { baseUrl: sim.url, authMethod: 'apiToken', tokenId: TOKEN.tokenid, tokenSecret: TOKEN.secret, ca: sim.caPem },
  });

  /** Runs one Proxmox node with `parameters` on `items`; returns the run result. */
  async function run(parameters: IDataObject, items: IDataObject[] = [{}], extra: Partial<WorkflowNodeJson> = {}) {
    return await engine.run(workflow([proxmox(parameters, extra)]), { startNodeData: items.map((json) => ({ json })) });
  }

  async function ok(parameters: IDataObject, items?: IDataObject[]): Promise<IDataObject[]> {
    const result = await run(parameters, items);
    assert.equal(result.status, 'success', `${String(result.error?.message)}\n${String((result.error as NodeApiError | undefined)?.description ?? '')}`);
    return result.jsonOf('Proxmox');
  }

  async function fails(parameters: IDataObject, items?: IDataObject[]): Promise<NodeApiError> {
    const result = await run(parameters, items);
    assert.equal(result.status, 'error', `expected an error, got ${JSON.stringify(result.status === 'success' ? result.jsonOf('Proxmox') : null)}`);
    return result.error as NodeApiError;
  }

  before(async () => {
    sim = await ProxmoxSimulator.start({ timeScale: 0.02, lockWaitMs: 400, cloneSourceLockMs: 20 });
    engine = createEngine({ nodeTypes: [Proxmox], credentialTypes: [ProxmoxApi], credentials: { proxmoxApi: tokenCredential() } });
  });

  after(async () => {
    await engine.close();
    await sim.close();
  });

  describe('VM (QEMU)', () => {
    it('lists VMs of the cluster and of one node, with filters', async () => {
      const all = await ok({ resource: 'vm', operation: 'list' });
      assert.deepEqual(all.map((vm) => vm.vmid).slice(0, 2), [100, 101]);
      assert.ok(all.some((vm) => vm.vmid === 9000 && vm.template === true));
      const templates = await ok({ resource: 'vm', operation: 'list', filters: { templates: 'only' } });
      assert.deepEqual(templates.map((vm) => vm.vmid), [9000]);
      const pve2 = await ok({ resource: 'vm', operation: 'list', node: 'pve2' });
      assert.deepEqual(pve2.map((vm) => [vm.vmid, vm.node]), [[101, 'pve2']]);
    });

    it('gets status and config (node auto-detected or given)', async () => {
      const [status] = await ok({ resource: 'vm', operation: 'getStatus', vmId: id(101) });
      assert.equal(status?.node, 'pve2');
      assert.equal(status?.status, 'stopped');
      const [config] = await ok({ resource: 'vm', operation: 'getConfig', node: 'pve1', vmId: id(9000) });
      assert.equal(config?.name, 'ubuntu-2404-cloud');
      assert.match(String(config?.digest), /^[0-9a-f]{40}$/);
    });

    it('a missing VM is a NodeApiError with Proxmox’s 500 message', async () => {
      const error = await fails({ resource: 'vm', operation: 'getStatus', node: 'pve1', vmId: id(4242) });
      assert.equal(error.name, 'NodeApiError');
      assert.equal(error.message, "Configuration file 'nodes/pve1/qemu-server/4242.conf' does not exist");
      assert.equal(error.httpCode, '500');
    });

    it('updates config with cloud-init: sshkeys percent-encoded once, the drive regenerated with the decoded keys', async () => {
      sim.resetStats();
      const [out] = await ok({
        resource: 'vm',
        operation: 'updateConfig',
        vmId: id(100),
        config: { memory: 8192, tags: 'web;prod' },
        cloudInit: {
          ciuser: 'deploy',
          cipassword: 's3cret!',
          sshKeys: `${SSH_KEYS.join('\n')}\n`,
          ipConfig: { interface: [{ index: 0, ip: '10.0.0.50/24', gateway: '10.0.0.1' }] },
        },
        options: FAST,
      });
      assert.equal(out?.cloudInitRegenerated, true);
      const vm = sim.guest(100)!;
      assert.equal(vm.config.sshkeys, encodeURIComponent(SSH_KEYS.join('\n')));
      assert.equal(vm.config.memory, '8192');
      assert.deepEqual(vm.cloudInit?.sshKeys, SSH_KEYS);
      assert.equal(vm.cloudInit?.user, 'deploy');
      assert.equal(vm.cloudInit?.password, 's3cret!');
      assert.deepEqual(vm.cloudInit?.ipconfig, { ipconfig0: 'ip=10.0.0.50/24,gw=10.0.0.1' });
      assert.equal(sim.stats().byRoute['PUT /nodes/{node}/qemu/{vmid}/cloudinit'], 1);

      const [config] = await ok({ resource: 'vm', operation: 'getConfig', vmId: id(100) });
      assert.deepEqual(config?.sshKeysDecoded, SSH_KEYS);
      assert.equal(config?.cipassword, '**********');
    });

    it('refuses invalid cloud-init before sending anything, and a VM without a cloud-init drive', async () => {
      sim.resetStats();
      const bad = await fails({
        resource: 'vm',
        operation: 'updateConfig',
        vmId: id(100),
        cloudInit: { sshKeys: 'not a key', ipConfig: { interface: [{ index: 0, ip: '10.0.0.300/24' }] } },
      });
      assert.equal(bad.name, 'NodeOperationError');
      assert.match(String(bad.description), /line 1 is not an OpenSSH public key/);
      assert.match(String(bad.description), /ipconfig0: IPv4 "10.0.0.300\/24"/);
      assert.equal(sim.stats().calls, 0);

      const noDrive = await fails({ resource: 'vm', operation: 'updateConfig', node: 'pve2', vmId: id(101), cloudInit: { ciuser: 'x' }, options: FAST });
      assert.match(noDrive.message, /VM 101 has no cloud-init drive/);
      assert.equal(sim.guest(101)?.config.ciuser, undefined);
    });

    it('creates a VM with the next free VMID and starts it', async () => {
      const next = Number((await ok({ resource: 'cluster', operation: 'getNextId' }))[0]?.vmid);
      const [out] = await ok({
        resource: 'vm',
        operation: 'create',
        node: 'pve1',
        config: { name: 'fresh-vm', memory: 1024, cores: 1, scsi0: 'local-lvm:8', net0: 'virtio,bridge=vmbr0', ide2: 'local-lvm:cloudinit' },
        cloudInit: { ciuser: 'ops', sshKeys: SSH_KEYS[0] },
        options: { ...FAST, start: true },
      });
      assert.equal(out?.vmid, next);
      assert.equal(out?.status, 'OK');
      const vm = sim.guest(next)!;
      assert.equal(vm.status, 'running');
      assert.equal(vm.config.scsi0, `local-lvm:vm-${next}-disk-0,size=8G`);
      assert.deepEqual(vm.cloudInit?.sshKeys, [SSH_KEYS[0]]);
    });

    it('clones a template (full, named) and waits; lock: clone is gone afterwards', async () => {
      const [out] = await ok({ resource: 'vm', operation: 'clone', vmId: { mode: 'list', value: '9000' }, cloneName: 'web-clone-1', options: FAST });
      const vmid = Number(out?.vmid);
      assert.equal(out?.status, 'OK');
      assert.equal(out?.sourceVmid, 9000);
      assert.equal(sim.guest(vmid)?.config.name, 'web-clone-1');
      assert.equal(sim.guest(vmid)?.config.lock, undefined);
      assert.equal(sim.guest(vmid)?.config.scsi0, `ceph:vm-${vmid}-disk-0,size=3584M`);
    });

    it('clone with cloud-init and start: config written to the clone, drive regenerated, VM running', async () => {
      const [out] = await ok({
        resource: 'vm',
        operation: 'clone',
        vmId: id(9000),
        cloneName: 'k8s-node-1',
        additionalFields: { start: true },
        cloudInit: { ciuser: 'talos', sshKeys: SSH_KEYS.join('\n'), ipConfig: { interface: [{ index: 0, ip: 'dhcp' }] } },
        options: FAST,
      });
      const vm = sim.guest(Number(out?.vmid))!;
      assert.equal(out?.cloudInitApplied, true);
      assert.equal((out?.start as IDataObject).status, 'OK');
      assert.equal(vm.status, 'running');
      assert.deepEqual(vm.cloudInit?.sshKeys, SSH_KEYS);
      assert.equal(vm.cloudInit?.user, 'talos');
    });

    it('linked clone from a template; a linked clone of a normal VM is refused by Proxmox', async () => {
      const [out] = await ok({ resource: 'vm', operation: 'clone', vmId: id(9000), full: false, options: FAST });
      assert.match(String(sim.guest(Number(out?.vmid))?.config.scsi0), /^ceph:base-9000-disk-0\/vm-\d+-disk-0/);
      const error = await fails({ resource: 'vm', operation: 'clone', vmId: id(101), full: false, options: FAST });
      assert.equal(error.message, 'Linked clone feature for VM 101 is only possible from a template');
    });

    it('start / shutdown / reboot / stop wait for their tasks', async () => {
      const [created] = await ok({ resource: 'vm', operation: 'clone', vmId: id(9000), cloneName: 'power-test', options: FAST });
      const vmid = created!.vmid as number;
      for (const [operation, state] of [['start', 'running'], ['reboot', 'running'], ['shutdown', 'stopped'], ['start', 'running'], ['stop', 'stopped']] as const) {
        const [out] = await ok({ resource: 'vm', operation, vmId: id(vmid), options: FAST });
        assert.equal(out?.status, 'OK', operation);
        assert.equal(sim.guest(vmid)?.status, state, operation);
      }
    });

    it('resizes a disk (grow only)', async () => {
      const [out] = await ok({ resource: 'vm', operation: 'resize', vmId: id(101), disk: 'scsi0', size: '+2G', options: FAST });
      assert.equal(out?.status, 'OK');
      assert.equal(sim.guest(101)?.config.scsi0, 'ceph:vm-101-disk-0,size=66G');
      const shrink = await fails({ resource: 'vm', operation: 'resize', vmId: id(101), disk: 'scsi0', size: '10G', options: FAST });
      assert.match(shrink.message, /failed: shrinking disks is not supported$/);
      const bad = await fails({ resource: 'vm', operation: 'resize', vmId: id(101), disk: 'scsi0', size: 'ten' });
      assert.equal(bad.name, 'NodeOperationError');
    });

    it('snapshots: create, list, rollback, delete', async () => {
      await ok({ resource: 'vm', operation: 'createSnapshot', vmId: id(101), snapshotName: 'pre-upgrade', snapshotDescription: 'before', options: FAST });
      await ok({ resource: 'vm', operation: 'updateConfig', vmId: id(101), config: { memory: 1024 }, options: FAST });
      const list = await ok({ resource: 'vm', operation: 'listSnapshots', vmId: id(101) });
      assert.deepEqual(list.map((s) => [s.name, s.description]), [['pre-upgrade', 'before']]);
      await ok({ resource: 'vm', operation: 'rollbackSnapshot', vmId: id(101), snapshotName: 'pre-upgrade', options: FAST });
      assert.equal(sim.guest(101)?.config.memory, '8192');
      await ok({ resource: 'vm', operation: 'deleteSnapshot', vmId: id(101), snapshotName: 'pre-upgrade', options: FAST });
      assert.deepEqual(sim.guest(101)?.snapshots, []);
      const bad = await fails({ resource: 'vm', operation: 'createSnapshot', vmId: id(101), snapshotName: '1bad name' });
      assert.equal(bad.name, 'NodeOperationError');
    });

    it('migrates a VM to another node', async () => {
      const [out] = await ok({ resource: 'vm', operation: 'migrate', vmId: id(101), targetNode: 'pve1', options: FAST });
      assert.equal(out?.status, 'OK');
      assert.equal(out?.targetNode, 'pve1');
      assert.equal(sim.guest(101)?.node, 'pve1');
      const [back] = await ok({ resource: 'vm', operation: 'migrate', vmId: id(101), targetNode: 'pve2', options: FAST });
      assert.equal(back?.sourceNode, 'pve1');
      assert.equal(sim.guest(101)?.node, 'pve2');
    });

    it('deletes a VM (purge), stopping it first when asked', async () => {
      const [created] = await ok({ resource: 'vm', operation: 'clone', vmId: id(9000), cloneName: 'doomed', additionalFields: { start: true }, options: FAST });
      const vmid = created!.vmid as number;
      const running = await fails({ resource: 'vm', operation: 'delete', vmId: id(vmid), options: FAST });
      assert.equal(running.message, `VM ${vmid} is running - destroy failed`);
      const [out] = await ok({ resource: 'vm', operation: 'delete', vmId: id(vmid), options: { ...FAST, stopIfRunning: true } });
      assert.equal(out?.deleted, true);
      assert.equal(out?.stoppedFirst, true);
      assert.equal(sim.guest(vmid), undefined);
    });
  });

  describe('Container (LXC)', () => {
    it('lists, creates from an OS template, starts, snapshots, clones, migrates and deletes containers', async () => {
      const list = await ok({ resource: 'container', operation: 'list' });
      assert.deepEqual(list.map((ct) => ct.vmid), [200, 8000]);
      const [created] = await ok({
        resource: 'container',
        operation: 'create',
        node: 'pve1',
        ostemplate: 'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst',
        password: 'ct-root-pw',
        sshPublicKeys: SSH_KEYS[0],
        config: { hostname: 'ct-web', memory: 256, rootfs: 'local-lvm:4', net0: 'name=eth0,bridge=vmbr0,ip=dhcp' },
        options: FAST,
      });
      const vmid = created!.vmid as number;
      assert.equal(sim.guest(vmid)?.kind, 'lxc');
      assert.equal(sim.guest(vmid)?.config.hostname, 'ct-web');
      await ok({ resource: 'container', operation: 'start', vmId: id(vmid), options: FAST });
      assert.equal(sim.guest(vmid)?.status, 'running');
      await ok({ resource: 'container', operation: 'createSnapshot', vmId: id(vmid), snapshotName: 'base', options: FAST });
      const [status] = await ok({ resource: 'container', operation: 'getStatus', vmId: id(vmid) });
      assert.equal(status?.status, 'running');

      const [clone] = await ok({ resource: 'container', operation: 'clone', vmId: id(8000), cloneName: 'ct-clone', options: FAST });
      assert.equal(sim.guest(Number(clone?.vmid))?.config.hostname, 'ct-clone');

      const [moved] = await ok({ resource: 'container', operation: 'migrate', vmId: id(Number(clone?.vmid)), targetNode: 'pve2', options: FAST });
      assert.equal(moved?.status, 'OK');
      assert.equal(sim.guest(Number(clone?.vmid))?.node, 'pve2');

      const [deleted] = await ok({ resource: 'container', operation: 'delete', vmId: id(vmid), options: { ...FAST, stopIfRunning: true } });
      assert.equal(deleted?.deleted, true);
      assert.equal(sim.guest(vmid), undefined);
    });
  });

  describe('Cluster, storage and tasks', () => {
    it('lists nodes, cluster resources, next free VMID and checks a taken one', async () => {
      assert.deepEqual((await ok({ resource: 'cluster', operation: 'listNodes' })).map((n) => n.node), ['pve1', 'pve2']);
      const nodes = await ok({ resource: 'cluster', operation: 'getResources', resourceType: 'node' });
      assert.deepEqual(nodes.map((n) => n.id), ['node/pve1', 'node/pve2']);
      const [taken] = await ok({ resource: 'cluster', operation: 'getNextId', checkVmId: 100 });
      assert.deepEqual(taken, { vmid: 100, available: false, reason: 'VM 100 already exists' });
      const [free] = await ok({ resource: 'cluster', operation: 'getNextId', checkVmId: 7777 });
      assert.deepEqual(free, { vmid: 7777, available: true });
    });

    it('lists storages and their content', async () => {
      const storages = await ok({ resource: 'storage', operation: 'list', node: 'pve1', content: 'images' });
      assert.deepEqual(storages.map((s) => s.storage), ['local-lvm', 'ceph']);
      const templates = await ok({ resource: 'storage', operation: 'getContent', node: 'pve1', storage: 'local', content: 'vztmpl' });
      assert.ok(templates.some((v) => v.volid === 'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst'));
      const cluster = await ok({ resource: 'storage', operation: 'list' });
      assert.deepEqual(cluster.map((s) => s.storage), ['local', 'local-lvm', 'ceph']);
    });

    it('"Wait for Task" off returns the UPID at once; Task get status / wait / get log follow it', async () => {
      const [started] = await ok({ resource: 'vm', operation: 'clone', vmId: id(9000), cloneName: 'async-clone', options: { ...FAST, waitForTask: false } });
      assert.equal(started?.status, 'started');
      const upid = String(started?.upid);
      assert.match(upid, /^UPID:pve1:[0-9A-F]{8}:[0-9A-F]{8,9}:[0-9A-F]{8}:qmclone:9000:root@pam!n8n:$/);
      assert.equal(sim.guest(Number(started?.vmid))?.config.lock, 'clone');
      const [status] = await ok({ resource: 'task', operation: 'getStatus', upid });
      assert.equal(status?.status, 'running');
      const [done] = await ok({ resource: 'task', operation: 'wait', upid, options: { pollInterval: 20 } });
      assert.equal(done?.status, 'OK');
      const [log] = await ok({ resource: 'task', operation: 'getLog', upid });
      assert.equal((log?.lines as string[]).at(-1), 'TASK OK');
      const bad = await fails({ resource: 'task', operation: 'wait', upid: 'not-a-upid' });
      assert.equal(bad.name, 'NodeOperationError');
    });
  });

  describe('task results', () => {
    it('a task ending with WARNINGS succeeds with the warning lines', async () => {
      sim.scriptTask({ type: 'qmstart', id: 101, exit: 'WARNINGS: 2', log: ['storage ceph: slow ops', 'agent not responding'] });
      const [out] = await ok({ resource: 'vm', operation: 'start', vmId: id(101), options: FAST });
      assert.equal(out?.status, 'WARNINGS');
      assert.equal(out?.exitstatus, 'WARNINGS: 2');
      assert.deepEqual(out?.warnings, ['WARN: storage ceph: slow ops', 'WARN: agent not responding']);
      await ok({ resource: 'vm', operation: 'stop', vmId: id(101), options: FAST });
    });

    it('a failed task is a NodeApiError with the exit status and the tail of its log', async () => {
      sim.scriptTask({ type: 'qmstart', id: 101, exit: 'start failed: QEMU exited with code 1', log: ['kvm: -drive file=/dev/rbd0: Could not open', 'kvm: failed to initialize'] });
      const error = await fails({ resource: 'vm', operation: 'start', vmId: id(101), options: FAST });
      assert.equal(error.name, 'NodeApiError');
      assert.match(error.message, /^Proxmox task qmstart 101 failed: start failed: QEMU exited with code 1$/);
      assert.equal(error.context.exitStatus, 'start failed: QEMU exited with code 1');
      assert.deepEqual(error.context.logTail, ['kvm: -drive file=/dev/rbd0: Could not open', 'kvm: failed to initialize', 'TASK ERROR: start failed: QEMU exited with code 1']);
      assert.match(String(error.description), /Task log \(last lines\):\nkvm: -drive/);
    });

    it('starting a running VM fails as Proxmox says — unless "Succeed If Already Running"', async () => {
      const error = await fails({ resource: 'vm', operation: 'start', vmId: id(100), options: FAST });
      assert.equal(error.context.exitStatus, 'VM 100 already running');
      const [out] = await ok({ resource: 'vm', operation: 'start', vmId: id(100), options: { ...FAST, alreadyRunningOk: true } });
      assert.equal(out?.alreadyRunning, true);
    });
  });

  describe('robustness', () => {
    it('retries transient failures ("got no worker upid", 503, 595) with backoff', async () => {
      sim.injectFailure({ kind: 'no-worker', path: /status\/shutdown$/ });
      sim.injectFailure({ kind: 'http-503', path: /status\/shutdown$/ });
      sim.injectFailure({ kind: 'http-595', path: /status\/shutdown$/ });
      const [out] = await ok({ resource: 'vm', operation: 'shutdown', vmId: id(101), options: FAST });
      assert.equal(out?.status, 'OK');
      assert.equal(out?.attempts, 4);
    });

    it('gives up after Max Retries', async () => {
      sim.injectFailure({ kind: 'http-503', path: /status\/stop$/, count: 3 });
      const error = await fails({ resource: 'vm', operation: 'stop', vmId: id(101), options: { ...FAST, maxRetries: 2 } });
      assert.equal(error.httpCode, '503');
      sim.injectFailure({ kind: 'http-503', path: /status\/stop$/, count: 0 }); // nothing left over
    });

    it('an answer lost after the work was done: the retry sees "already used" / "does not exist" and counts as done', async () => {
      sim.injectFailure({ kind: 'http-503', path: '/nodes/{node}/qemu/{vmid}/snapshot', afterEffect: true });
      const [snap] = await ok({ resource: 'vm', operation: 'createSnapshot', vmId: id(101), snapshotName: 'lost-answer', options: FAST });
      assert.equal(snap?.alreadyDone, true);
      assert.match(String(snap?.note), /snapshot name 'lost-answer' already used/);
      assert.deepEqual(sim.guest(101)?.snapshots.map((s) => s.name), ['lost-answer']);

      const [created] = await ok({ resource: 'vm', operation: 'clone', vmId: id(9000), cloneName: 'lost-delete', options: FAST });
      sim.injectFailure({ kind: 'http-595', method: 'DELETE', path: '/nodes/{node}/qemu/{vmid}', afterEffect: true });
      const [deleted] = await ok({ resource: 'vm', operation: 'delete', vmId: id(Number(created?.vmid)), options: FAST });
      assert.equal(deleted?.alreadyDone, true);
      await sim.idle();
      assert.equal(sim.guest(Number(created?.vmid)), undefined);
    });

    it('a lost clone answer: the retry finds the VM by its name and does not clone twice', async () => {
      const before = sim.cluster.guests.size;
      sim.injectFailure({ kind: 'http-595', path: /qemu\/\{vmid\}\/clone$/, afterEffect: true });
      const [out] = await ok({ resource: 'vm', operation: 'clone', vmId: id(9000), cloneName: 'exactly-once', options: FAST });
      assert.equal(out?.alreadyDone, true);
      assert.equal(sim.cluster.guests.size, before + 1);
      assert.equal([...sim.cluster.guests.values()].filter((g) => g.config.name === 'exactly-once').length, 1);
    });

    it('lock-file timeouts are retried until the lock is free', async () => {
      sim.injectFailure({ kind: 'lock-timeout', path: /status\/start$/, count: 2 });
      const [out] = await ok({ resource: 'vm', operation: 'start', vmId: id(101), options: FAST });
      assert.equal(out?.status, 'OK');
      assert.equal(out?.attempts, 3);
      await ok({ resource: 'vm', operation: 'stop', vmId: id(101), options: FAST });
    });

    it('operations on a VM still locked by its clone wait for the lock', async () => {
      // A slow clone (1 s at this time scale): the next nodes surely meet `lock: clone`.
      const usual = sim.taskDurations.qmclone!;
      sim.taskDurations.qmclone = 50_000;
      const result = await engine.run(
        workflow([
          proxmox({ resource: 'vm', operation: 'clone', vmId: id(9000), cloneName: 'locked-one', options: { ...FAST, waitForTask: false } }, {}, 'Clone'),
          proxmox({ resource: 'vm', operation: 'updateConfig', vmId: id('={{ $json.vmid }}'), config: { memory: 3072 }, options: FAST }, {}, 'Configure'),
          proxmox({ resource: 'vm', operation: 'start', vmId: id('={{ $json.vmid }}'), options: FAST }, {}, 'Start'),
        ]),
      );
      sim.taskDurations.qmclone = usual;
      assert.equal(result.status, 'success', String(result.error?.message));
      const [cloned] = result.jsonOf('Clone');
      assert.equal(cloned?.status, 'started');
      const [configured] = result.jsonOf('Configure');
      assert.equal(configured?.status, 'OK');
      assert.ok(Number(configured?.lockWaits) >= 1, 'the config change met `lock: clone` and waited');
      const vm = sim.guest(Number(cloned?.vmid))!;
      assert.equal(vm.config.memory, '3072');
      assert.equal(vm.config.name, 'locked-one');
      assert.equal(vm.status, 'running');
    });

    it('with "Wait for Lock" off, a locked VM fails at once with Proxmox’s message', async () => {
      // A slow clone, so that the lock is surely still held on a loaded machine when the change arrives.
      const usual = sim.taskDurations.qmclone!;
      sim.taskDurations.qmclone = 50_000;
      try {
        const [cloned] = await ok({ resource: 'vm', operation: 'clone', vmId: id(9000), options: { ...FAST, waitForTask: false } });
        const error = await fails({ resource: 'vm', operation: 'updateConfig', vmId: id(Number(cloned?.vmid)), config: { cores: 4 }, options: { ...FAST, waitForLock: false } });
        assert.equal(error.message, 'VM is locked (clone)');
      } finally {
        sim.taskDurations.qmclone = usual;
      }
      await sim.idle();
    });

    it('a privilege-separated token without VM.PowerMgmt: 403 naming the path and privilege', async () => {
      engine.setCredentials('proxmoxApi', { ...tokenCredential(), data: { ...tokenCredential().data, tokenId: READONLY.tokenid, tokenSecret: READONLY.secret } });
      try {
        const error = await fails({ resource: 'vm', operation: 'stop', vmId: id(100), options: FAST });
        assert.equal(error.httpCode, '403');
        assert.equal(error.message, 'Permission check failed (/vms/100, VM.PowerMgmt)');
      } finally {
        engine.setCredentials('proxmoxApi', tokenCredential());
      }
    });

    it('continueOnFail: the failing item carries the error, the others their result, paired to their input', async () => {
      const result = await run({ resource: 'vm', operation: 'getStatus', node: 'pve1', vmId: id('={{ $json.vmid }}') }, [{ vmid: 100 }, { vmid: 4242 }, { vmid: 9000 }], { continueOnFail: true });
      assert.equal(result.status, 'success');
      const [items] = result.outputOf('Proxmox');
      assert.deepEqual(items?.map((i) => i.pairedItem), [{ item: 0 }, { item: 1 }, { item: 2 }]);
      assert.equal(items?.[0]?.json.status, 'running');
      assert.equal(items?.[1]?.json.error, "Configuration file 'nodes/pve1/qemu-server/4242.conf' does not exist");
      assert.equal((items?.[1]?.json.details as { httpCode?: string } | undefined)?.httpCode, '500');
      // only error/details keys, so n8n's "Continue (using error output)" routes the item to the error output
      assert.deepEqual(Object.keys(items?.[1]?.json ?? {}).sort(), ['details', 'error']);
      assert.equal(items?.[2]?.json.vmid, 9000);
    });
  });

  describe('dry run', () => {
    it('validates and returns the request without changing anything', async () => {
      const before = JSON.stringify([...sim.cluster.guests.entries()]);
      sim.resetStats();
      const [clone] = await ok({
        resource: 'vm',
        operation: 'clone',
        vmId: id(9000),
        cloneName: 'dry',
        cloudInit: { sshKeys: SSH_KEYS[0], cipassword: 'dry-s3cret' },
        options: { dryRun: true },
      });
      assert.doesNotMatch(JSON.stringify(clone), /dry-s3cret/);
      assert.equal(clone?.dryRun, true);
      assert.equal(clone?.method, 'POST');
      assert.equal(clone?.path, '/api2/json/nodes/pve1/qemu/9000/clone');
      assert.deepEqual(clone?.body, { newid: String(clone?.vmid), name: 'dry', full: '1' });
      assert.deepEqual((clone?.followUp as IDataObject[])[0], {
        method: 'PUT',
        path: `/api2/json/nodes/pve1/qemu/${clone?.vmid}/config`,
        body: { cipassword: '**********', sshkeys: encodeURIComponent(SSH_KEYS[0]!) },
      });
      const [del] = await ok({ resource: 'vm', operation: 'delete', node: 'pve1', vmId: id(100), options: { dryRun: true } });
      assert.deepEqual(del, { dryRun: true, vmid: 100, node: 'pve1', method: 'DELETE', path: '/api2/json/nodes/pve1/qemu/100', body: {}, query: { purge: '1', 'destroy-unreferenced-disks': '0' } });
      const [start] = await ok({ resource: 'vm', operation: 'start', node: 'pve2', vmId: id(101), options: { dryRun: true } });
      assert.equal(start?.path, '/api2/json/nodes/pve2/qemu/101/status/start');
      const [ct] = await ok({ resource: 'container', operation: 'create', node: 'pve1', newVmId: 555, ostemplate: 'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst', options: { dryRun: true } });
      assert.equal((ct?.body as IDataObject).vmid, '555');
      const stats = sim.stats();
      assert.deepEqual(Object.keys(stats.byRoute).filter((route) => !route.startsWith('GET ')), []);
      assert.equal(JSON.stringify([...sim.cluster.guests.entries()]), before);
      const bad = await fails({ resource: 'vm', operation: 'clone', vmId: id(9000), cloneName: 'not a dns name', options: { dryRun: true } });
      assert.equal(bad.name, 'NodeOperationError');
    });
  });

  describe('authentication and TLS', () => {
    it('ticket auth: one login, CSRF on writes, renewed when the ticket expires', async () => {
      const short = await ProxmoxSimulator.start({ timeScale: 0.02, ticketLifetimeMs: 400, certificates: sim.certificates });
      const ticketEngine = createEngine({
        nodeTypes: [Proxmox],
        credentialTypes: [ProxmoxApi],
        credentials: { proxmoxApi: { id: 'pve-ticket', name: 'PVE ticket', data: { baseUrl: short.url, authMethod: 'ticket', username: 'root', realm: 'pam', password: 'proxmox-root-pw', ca: short.caPem } } },
      });
      try {
        const runTicket = (parameters: IDataObject) => ticketEngine.run(workflow([proxmox(parameters)]));
        const first = await runTicket({ resource: 'vm', operation: 'stop', vmId: id(100), options: FAST });
        assert.equal(first.status, 'success', String(first.error?.message));
        assert.equal(short.stats().logins, 1);
        const second = await runTicket({ resource: 'vm', operation: 'start', vmId: id(100), options: FAST });
        assert.equal(second.status, 'success', String(second.error?.message));
        assert.equal(short.stats().logins, 1, 'the stored ticket is reused');
        await new Promise((resolve) => setTimeout(resolve, 450));
        const renewed = await runTicket({ resource: 'vm', operation: 'stop', vmId: id(100), options: FAST });
        assert.equal(renewed.status, 'success', String(renewed.error?.message));
        assert.equal(short.stats().logins, 2, 'a 401 renewed the ticket once');
        assert.equal(short.guest(100)?.status, 'stopped');

        // Parallel items with no ticket yet: one login before they start, not one each.
        ticketEngine.setCredentials('proxmoxApi', { id: 'pve-ticket', name: 'PVE ticket', data: { baseUrl: short.url, authMethod: 'ticket', username: 'root@pam', password: 'proxmox-root-pw', ca: short.caPem } });
        short.resetStats();
        const parallel = await ticketEngine.run(workflow([proxmox({ resource: 'vm', operation: 'getStatus', vmId: id('={{ $json.vmid }}'), options: { concurrency: 3 } })]), {
          startNodeData: [100, 101, 9000].map((vmid) => ({ json: { vmid } })),
        });
        assert.equal(parallel.status, 'success', String(parallel.error?.message));
        assert.equal(short.stats().logins, 1);
      } finally {
        await ticketEngine.close();
        await short.close();
      }
    });

    it('a wrong password fails with an authentication error, after one login attempt, with no secret in the error or logs', async () => {
      engine.setCredentials('proxmoxApi', { id: 'bad', name: 'bad', data: { baseUrl: sim.url, authMethod: 'ticket', username: 'root@pam', password: 'nope-wrong-pw', ca: sim.caPem } });
      try {
        sim.resetStats();
        const { value: error, logs } = await withRecordedLogs(() => fails({ resource: 'cluster', operation: 'listNodes' }));
        assert.equal(error.name, 'NodeApiError');
        assert.match(error.message, /^Authentication failed: authentication failure \(login as root@pam\)\. Check the credential's username, realm and password\.$/);
        assert.equal(error.httpCode, '401');
        assert.equal(sim.stats().authFailures, 1, 'n8n does not log in a second time after a refused login');
        assertNoSecrets([...stringsIn(error), ...logs], ['nope-wrong-pw'], 'the error or the log');
        assert.ok(logs.length > 0, 'the recorder saw n8n log');
      } finally {
        engine.setCredentials('proxmoxApi', tokenCredential());
      }
    });

    describe('TOTP second factor and ticket lifetime', () => {
      let tfa: ProxmoxSimulator;
      let tfaEngine: Engine;
      const SECRETS = [TOTP_USER.password, TOTP_USER.totp.secret, 'proxmox-root-pw'];
      const tfaCredential = (data: IDataObject = {}): StoredCredential => ({
        id: 'pve-tfa',
        name: 'PVE TOTP user',
        data: { baseUrl: tfa.url, ca: tfa.caPem, authMethod: 'ticket', username: 'automation', realm: 'pve', password: TOTP_USER.password, totpSecret: TOTP_USER.totp.secret, ...data },
      });
      const runTfa = (parameters: IDataObject, items: IDataObject[] = [{}]) =>
        tfaEngine.run(workflow([proxmox(parameters)]), { startNodeData: items.map((json) => ({ json })) });

      before(async () => {
        tfa = await ProxmoxSimulator.start({ timeScale: 0.02, cloneSourceLockMs: 20, certificates: sim.certificates, ticketLifetimeMs: 300 });
        tfaEngine = createEngine({ nodeTypes: [Proxmox], credentialTypes: [ProxmoxApi], credentials: { proxmoxApi: tfaCredential() } });
      });
      after(async () => {
        await tfaEngine.close();
        await tfa.close();
      });

      it('logs in with password and TOTP code, writes with the CSRF token, reuses the ticket while it is valid', async () => {
        tfa.auth.ticketLifetimeMs = 60_000;
        tfaEngine.setCredentials('proxmoxApi', tfaCredential());
        tfa.resetStats();
        const { value: first, logs } = await withRecordedLogs(() => runTfa({ resource: 'vm', operation: 'stop', node: 'pve1', vmId: id(100), options: FAST }));
        assert.equal(first.status, 'success', String(first.error?.message));
        assert.equal(first.jsonOf('Proxmox')[0]?.status, 'OK');
        assert.match(String(first.jsonOf('Proxmox')[0]?.upid), /:automation@pve:$/, 'the task ran as the TOTP user');
        assert.deepEqual([tfa.stats().tfaChallenges, tfa.stats().logins, tfa.stats().tfaFailures], [1, 1, 0]);
        const second = await runTfa({ resource: 'vm', operation: 'start', node: 'pve1', vmId: id(100), options: FAST });
        assert.equal(second.status, 'success', String(second.error?.message));
        assert.equal(tfa.stats().logins, 1, 'the stored ticket is reused');
        assertNoSecrets([...logs, ...stringsIn(first.jsonOf('Proxmox'))], SECRETS, 'the log or the output');
      });

      it('a stored partial ticket is refused by the server; the node logs in again by itself', async () => {
        tfa.auth.ticketLifetimeMs = 60_000;
        const partial = await partialTicket();
        const stored = tfaCredential();
        // Stored as if it were a login of this user on this server.
        stored.data.session = JSON.stringify({ ticket: partial.ticket, csrf: partial.csrf, user: TOTP_USER.userid, scope: sessionScope(tfa.url, TOTP_USER.userid) });
        tfaEngine.setCredentials('proxmoxApi', stored);
        tfa.resetStats();
        const result = await runTfa({ resource: 'cluster', operation: 'listNodes' });
        assert.equal(result.status, 'success', String(result.error?.message));
        assert.equal(tfa.stats().authFailures, 1, 'the partial ticket got a 401');
        assert.equal(tfa.stats().logins, 1);
      });

      it('a wrong TOTP secret: a clear NodeApiError after one refused code; no secret in the error or logs', async () => {
        tfaEngine.setCredentials('proxmoxApi', tfaCredential({ totpSecret: 'KRUGS4ZANFZSA3TPOQQHI2DFEBZWKY3SMV2A' }));
        tfa.resetStats();
        const { value: result, logs } = await withRecordedLogs(() => runTfa({ resource: 'vm', operation: 'stop', node: 'pve1', vmId: id(100), options: FAST }));
        assert.equal(result.status, 'error');
        const error = result.error as NodeApiError;
        assert.equal(error.name, 'NodeApiError');
        assert.match(error.message, /^Authentication failed: authentication failure \(TOTP code for automation@pve refused\)\. Check the credential's TOTP Secret and the clock of the n8n host/);
        assert.equal(error.httpCode, '401');
        assert.equal(error.description, 'POST /access/ticket → HTTP 401');
        assert.deepEqual([tfa.stats().tfaChallenges, tfa.stats().tfaFailures, tfa.stats().logins], [1, 1, 0]);
        assertNoSecrets([...stringsIn(error), ...logs], [...SECRETS, 'KRUGS4ZANFZSA3TPOQQHI2DFEBZWKY3SMV2A'], 'the error or the log');

        tfaEngine.setCredentials('proxmoxApi', tfaCredential({ totpSecret: '' }));
        const missing = await runTfa({ resource: 'cluster', operation: 'listNodes' });
        assert.match(String(missing.error?.message), /automation@pve has two-factor authentication\. Fill in the credential's TOTP Secret/);
      });

      it('a ticket expiring in the middle of a run: task waits and parallel items go on after logging in again (password + TOTP)', async () => {
        tfa.auth.ticketLifetimeMs = 250;
        tfaEngine.setCredentials('proxmoxApi', tfaCredential());
        const usual = tfa.taskDurations.qmclone!;
        // Clones of ~0.8 s at this time scale: each outlives the ticket two or three times while it is polled.
        tfa.taskDurations.qmclone = 40_000;
        tfa.resetStats();
        try {
          const { value: result, logs } = await withRecordedLogs(() =>
            runTfa({ resource: 'vm', operation: 'clone', vmId: id(9000), cloneName: '={{ $json.name }}', options: { ...FAST, concurrency: 3 } }, [
              { name: 'expiry-1' },
              { name: 'expiry-2' },
              { name: 'expiry-3' },
            ]),
          );
          assert.equal(result.status, 'success', `${String(result.error?.message)} ${String((result.error as NodeApiError | undefined)?.description ?? '')}`);
          assert.deepEqual(result.jsonOf('Proxmox').map((o) => o.status), ['OK', 'OK', 'OK']);
          const stats = tfa.stats();
          assert.ok(stats.logins >= 3, `logged in again as tickets expired (${stats.logins} logins)`);
          assert.equal(stats.tfaChallenges, stats.logins, 'every login answered the TOTP challenge');
          assert.equal(stats.tfaFailures, 0);
          assert.ok(stats.authFailures >= 2, 'the server refused expired tickets');
          assertNoSecrets(logs, SECRETS, 'the log');
        } finally {
          tfa.taskDurations.qmclone = usual;
          await tfa.idle();
        }
      });

      /** A partial ticket of the TOTP user, taken directly from the simulator. */
      async function partialTicket(): Promise<{ ticket: string; csrf: string }> {
        const res = await api(tfa.url, tfa.caPem, 'POST', '/access/ticket', { params: { username: TOTP_USER.userid, password: TOTP_USER.password } });
        const data = res.body.data as { ticket: string; CSRFPreventionToken: string; NeedTFA?: number };
        assert.equal(data.NeedTFA, 1);
        return { ticket: data.ticket, csrf: data.CSRFPreventionToken };
      }
    });

    it('pins the CA: another CA fails clearly; "Ignore SSL Issues" connects without it', async () => {
      const other = generateCertificates();
      engine.setCredentials('proxmoxApi', { ...tokenCredential(), data: { ...tokenCredential().data, ca: other.caPem } });
      try {
        const error = await fails({ resource: 'cluster', operation: 'listNodes' });
        assert.equal(error.name, 'NodeApiError');
        assert.match(error.message, /^The TLS certificate of https:\/\/127\.0\.0\.1:\d+ could not be verified \(/);
        assert.match(error.message, /CA Certificate/);
        // The same when the TLS failure happens in the login (username/password).
        engine.setCredentials('proxmoxApi', { id: 'pve-ticket-ca', name: 'ticket', data: { baseUrl: sim.url, authMethod: 'ticket', username: 'root@pam', password: 'proxmox-root-pw', ca: other.caPem } });
        const login = await fails({ resource: 'cluster', operation: 'listNodes' });
        assert.match(login.message, /^The TLS certificate of https:\/\/127\.0\.0\.1:\d+ could not be verified \(/);
        assertNoSecrets(stringsIn(login), ['proxmox-root-pw'], 'the error');
        engine.setCredentials('proxmoxApi', { ...tokenCredential(), data: { ...tokenCredential().data, ca: '', ignoreSslIssues: true } });
        assert.equal((await ok({ resource: 'cluster', operation: 'listNodes' })).length, 2);
      } finally {
        engine.setCredentials('proxmoxApi', tokenCredential());
      }
    });
  });

  describe('done when: one template cloned 50 times in parallel', () => {
    it('all 50 succeed with 50 distinct VMIDs despite lock contention on the template', async () => {
      await sim.idle();
      // Each clone holds the template's lock file 40 ms; waiters give up after 300 ms
      // ("can't lock file '/var/lock/qemu-server/lock-9000.conf' - got timeout").
      sim.cloneSourceLockMs = 40;
      sim.lockWaitMs = 300;
      sim.resetStats();
      const items = Array.from({ length: 50 }, (_, i) => ({ name: `fleet-${String(i + 1).padStart(2, '0')}` }));
      try {
        const result = await run(
          { resource: 'vm', operation: 'clone', vmId: id(9000), cloneName: '={{ $json.name }}', options: { ...FAST, concurrency: 10, retryDelay: 50 } },
          items,
        );
        assert.equal(result.status, 'success', `${String(result.error?.message)} ${String((result.error as NodeApiError | undefined)?.description ?? '')}`);
        const out = result.jsonOf('Proxmox');
        assert.equal(out.length, 50);
        assert.ok(out.every((o) => o.status === 'OK'));
        const vmids = out.map((o) => Number(o.vmid));
        assert.equal(new Set(vmids).size, 50, 'distinct VMIDs');
        assert.deepEqual(result.outputOf('Proxmox')[0]?.map((i) => i.pairedItem), items.map((_, i) => ({ item: i })));
        for (const [i, o] of out.entries()) {
          const vm = sim.guest(Number(o.vmid));
          assert.equal(vm?.config.name, items[i]!.name);
          assert.equal(vm?.config.lock, undefined);
        }
        const stats = sim.stats();
        assert.ok(stats.lockTimeouts > 0, `expected lock contention, got ${stats.lockTimeouts} lock timeouts`);
        assert.equal(stats.tasksStarted, 50);
      } finally {
        sim.cloneSourceLockMs = 20;
        sim.lockWaitMs = 400;
      }
    });

    it('parallel executions racing for the same next VMID all get distinct ones', async () => {
      sim.resetStats();
      const runs = await Promise.all(
        Array.from({ length: 8 }, (_, i) => run({ resource: 'vm', operation: 'clone', vmId: id(9000), cloneName: `race-${i}`, options: FAST })),
      );
      const outs = runs.map((r) => {
        assert.equal(r.status, 'success', String(r.error?.message));
        return r.jsonOf('Proxmox')[0]!;
      });
      assert.equal(new Set(outs.map((o) => o.vmid)).size, 8);
      assert.ok(outs.some((o) => Number(o.vmidCollisions ?? 0) > 0), 'nextid handed the same id to several executions');
    });
  });
});
