// QEMU VMs and LXC containers: /nodes/{node}/qemu/... and /nodes/{node}/lxc/... — list, create,
// clone, config, status and power, delete, resize, snapshots, migrate, cloud-init.
//
// Where the real server checks things matters to clients, so the simulator keeps it:
// - synchronously (HTTP error, no task): missing guest (500 "Configuration file … does not
//   exist"), VMID taken, parameter errors, "VM is locked (…)" for config changes, deletes and
//   clones, lock timeouts while the API call itself waits for a lock (clone source, config);
// - inside the task (exit status): "already running", lock timeouts and locks met by a worker
//   (start/stop/shutdown/reboot/resize/snapshot), "snapshot name … already used".

import { randomUUID } from 'node:crypto';
import { cloudInitDriveKey, configDigest, diskKeys, formatSize, KIND_LABEL, newMac, parseSize, type Config, type Guest, type Kind } from './cluster.ts';
import { configPrivilege, schemas } from './guest-schemas.ts';
import { fail, type Params } from './schema.ts';
import type { PermissionCheck, RequestContext, Route } from './server.ts';
import type { TaskContext } from './tasks.ts';

/** Parameters that are not configuration keys. */
const NON_CONFIG = new Set([
  'node', 'vmid', 'delete', 'revert', 'digest', 'skiplock', 'background_delay', 'start', 'pool', 'storage', 'unique', 'force',
  'ostemplate', 'password', 'ssh-public-keys',
]);

const SSH_KEY = /^(ssh-(rsa|dss|ed25519)|ecdsa-sha2-nistp(256|384|521)|sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com) [A-Za-z0-9+/]+={0,3}( .*)?$/;

export function taskType(kind: Kind, op: string): string {
  if (op === 'migrate') return kind === 'qemu' ? 'qmigrate' : 'vzmigrate';
  if (op === 'resize') return kind === 'qemu' ? 'qmresize' : 'resize';
  return `${kind === 'qemu' ? 'qm' : 'vz'}${op}`;
}

/** Decodes and validates cloud-init `sshkeys` (percent-encoded, one OpenSSH key per line). */
export function decodeSshKeys(value: string): string[] {
  let decoded: string;
  try {
    decoded = decodeURIComponent(value);
  } catch {
    throw fail(`invalid urlencoded string: ${value}`);
  }
  const keys = decoded.split('\n').map((line) => line.trim()).filter((line) => line && !line.startsWith('#'));
  for (const key of keys) if (!SSH_KEY.test(key)) throw fail('SSH public key validation error');
  return keys;
}

class Guests {
  readonly kind: Kind;
  readonly label: string;

  constructor(kind: Kind) {
    this.kind = kind;
    this.label = KIND_LABEL[kind].guest;
  }

  missing(node: string, vmid: number): string {
    return `Configuration file 'nodes/${node}/${KIND_LABEL[this.kind].confDir}/${vmid}.conf' does not exist`;
  }

  get(ctx: RequestContext): Guest {
    const node = String(ctx.params.node);
    ctx.sim.requireNode(node);
    const vmid = Number(ctx.params.vmid);
    const guest = ctx.sim.cluster.guests.get(vmid);
    if (!guest || guest.kind !== this.kind || guest.node !== node) throw fail(this.missing(node, vmid));
    return guest;
  }

  /** The guest as it is now (inside a task, it may have gone or moved meanwhile). */
  live(ctx: RequestContext, vmid: number, node: string): Guest {
    const guest = ctx.sim.cluster.guests.get(vmid);
    if (!guest || guest.kind !== this.kind) throw new Error(this.missing(node, vmid));
    return guest;
  }

  checkLock(guest: Guest, skiplock?: unknown): void {
    if (guest.config.lock !== undefined && Number(skiplock ?? 0) !== 1) throw fail(`${this.label} is locked (${guest.config.lock})`);
  }

  alreadyExists(vmid: number, existing: Guest): string {
    return `unable to create ${this.label} ${vmid} - ${KIND_LABEL[existing.kind].guest} ${vmid} already exists on node '${existing.node}'`;
  }

  task(ctx: RequestContext, op: string, id: number, run: (t: TaskContext) => Promise<void>, cleanup?: () => void): string {
    return ctx.sim.startTask(String(ctx.params.node), taskType(this.kind, op), id, ctx.principal, run, cleanup);
  }

  /** Runs fn in a worker holding the guest's lock file (a timeout fails the task). */
  locked<T>(ctx: RequestContext, vmid: number, fn: () => Promise<T> | T): Promise<T> {
    return ctx.sim.withGuestLock(this.kind, vmid, 0, fn);
  }

  view(ctx: RequestContext, guest: Guest, config: Config = guest.config): Config {
    const out: Config = { ...config };
    if (out.cipassword !== undefined) out.cipassword = '**********';
    out.digest = configDigest(guest.config);
    void ctx;
    return out;
  }

  /** Checks storage references in disk values ("storage:SIZE" allocations or existing volumes). */
  checkDisks(ctx: RequestContext, params: Params): void {
    for (const [key, value] of Object.entries(params)) {
      if (!this.isDiskKey(key)) continue;
      const storageId = /^([a-z][a-z0-9\-_.]*[a-z0-9]):/i.exec(String(value))?.[1];
      if (!storageId || String(value).startsWith('none')) continue;
      const storage = ctx.sim.cluster.storages.find((s) => s.storage === storageId);
      if (!storage) throw fail(`storage '${storageId}' does not exist`);
      const needs = this.kind === 'qemu' ? 'images' : 'rootdir';
      if (!String(value).includes('media=cdrom') && !storage.content.includes(needs)) {
        throw fail(`storage '${storageId}' does not support ${this.kind === 'qemu' ? 'vm images' : 'container directories'}`);
      }
    }
  }

  isDiskKey(key: string): boolean {
    return this.kind === 'qemu' ? /^(ide|sata|scsi|virtio)\d+$|^(efidisk|tpmstate)0$/.test(key) : /^(rootfs|mp\d+)$/.test(key);
  }

  /** Applies configuration parameters (allocating "storage:SIZE" disks) and `delete`. */
  apply(guest: Guest, params: Params): void {
    for (const [key, raw] of Object.entries(params)) {
      if (NON_CONFIG.has(key)) continue;
      let value: string | number = raw;
      const text = String(raw);
      if (this.isDiskKey(key)) {
        const cloudinit = /^([a-z][a-z0-9\-_.]*[a-z0-9]):cloudinit(,.*)?$/i.exec(text);
        const alloc = /^([a-z][a-z0-9\-_.]*[a-z0-9]):(\d+(?:\.\d+)?)(,.*)?$/i.exec(text);
        if (cloudinit) value = `${cloudinit[1]}:vm-${guest.vmid}-cloudinit,media=cdrom`;
        else if (alloc) value = `${alloc[1]}:vm-${guest.vmid}-disk-${this.nextDiskIndex(guest)},size=${alloc[2]}G${(alloc[3] ?? '').replace(/,size=[^,]*/, '')}`;
      }
      guest.config[key] = value;
    }
    for (const key of String(params.delete ?? '').split(/[,;\s]+/).filter(Boolean)) delete guest.config[key];
  }

  nextDiskIndex(guest: Guest): number {
    let max = -1;
    for (const value of Object.values(guest.config)) {
      const m = new RegExp(`vm-${guest.vmid}-disk-(\\d+)`).exec(String(value));
      if (m) max = Math.max(max, Number(m[1]));
    }
    return max + 1;
  }

  /** Writes the cloud-init drive from the configuration (as `qm cloudinit update` / VM start do). */
  regenerateCloudInit(guest: Guest): boolean {
    if (this.kind !== 'qemu' || !cloudInitDriveKey(guest.config)) return false;
    const c = guest.config;
    const ipconfig: Record<string, string> = {};
    for (const [key, value] of Object.entries(c)) if (/^ipconfig\d+$/.test(key)) ipconfig[key] = String(value);
    guest.cloudInit = {
      generatedAt: Date.now(),
      ...(c.ciuser !== undefined ? { user: String(c.ciuser) } : {}),
      ...(c.cipassword !== undefined ? { password: String(c.cipassword) } : {}),
      sshKeys: c.sshkeys !== undefined ? decodeSshKeys(String(c.sshkeys)) : [],
      ipconfig,
      ...(c.nameserver !== undefined ? { nameserver: String(c.nameserver) } : {}),
      ...(c.searchdomain !== undefined ? { searchdomain: String(c.searchdomain) } : {}),
    };
    return true;
  }

  /** The configuration a clone gets: new disk volumes, new MAC addresses, no template flag. */
  cloneConfig(source: Config, sourceName: string, newid: number, full: boolean, storage: string | undefined, params: Params): Config {
    const out: Config = {};
    let disk = 0;
    for (const [key, raw] of Object.entries(source)) {
      if (key === 'template' || key === 'lock' || key === 'digest') continue;
      const text = String(raw);
      if (this.isDiskKey(key) && text.includes('cloudinit')) {
        const st = text.split(':')[0]!;
        out[key] = `${full && storage ? storage : st}:vm-${newid}-cloudinit,media=cdrom`;
      } else if (this.isDiskKey(key) && !text.includes('media=cdrom')) {
        const [volid = '', ...options] = text.split(',');
        const [st = '', volume = ''] = volid.split(':');
        const name = `vm-${newid}-disk-${disk++}`;
        out[key] = [full ? `${storage ?? st}:${name}` : `${st}:${volume}/${name}`, ...options].join(',');
      } else if (/^net\d+$/.test(key)) {
        out[key] = text.replace(/([0-9A-F]{2}:){5}[0-9A-F]{2}/i, newMac());
      } else if (key === 'smbios1') {
        out[key] = text.replace(/uuid=[0-9a-f-]+/i, `uuid=${randomUUID()}`);
      } else if (key === 'vmgenid') {
        out[key] = randomUUID();
      } else {
        out[key] = raw;
      }
    }
    if (this.kind === 'qemu') out.name = params.name !== undefined ? String(params.name) : `Copy-of-VM-${sourceName}`;
    else out.hostname = params.hostname !== undefined ? String(params.hostname) : sourceName;
    if (params.description !== undefined) out.description = String(params.description);
    return out;
  }
}

const vmPerm = (privileges: string[], any = false) => (p: Params): PermissionCheck[] => [{ path: `/vms/${p.vmid}`, privileges, any }];

export function guestRoutes(kind: Kind): Route[] {
  const g = new Guests(kind);
  const S = schemas[kind];
  const base = `/nodes/{node}/${kind}`;
  const one = `${base}/{vmid}`;
  const label = g.label;
  const routes: Route[] = [];

  // --- list / create ----------------------------------------------------------------------
  routes.push({
    method: 'GET', path: base, schema: S.list,
    handler: (ctx) => {
      ctx.sim.requireNode(String(ctx.params.node));
      const { cluster } = ctx.sim;
      return [...cluster.guests.values()]
        .filter((guest) => guest.kind === kind && guest.node === ctx.params.node && ctx.principal.privileges.has('VM.Audit'))
        .map((guest) => ({
          vmid: guest.vmid,
          name: cluster.name(guest),
          status: guest.status,
          maxmem: cluster.memoryBytes(guest),
          maxdisk: cluster.diskBytes(guest),
          cpus: Number(guest.config.cores ?? 1) * Number(guest.config.sockets ?? 1),
          mem: guest.status === 'running' ? Math.round(cluster.memoryBytes(guest) * 0.4) : 0,
          uptime: guest.status === 'running' && guest.startedAt ? Math.floor((Date.now() - guest.startedAt) / 1000) : 0,
          ...(kind === 'lxc' ? { type: 'lxc' } : {}),
          ...(cluster.isTemplate(guest) ? { template: 1 } : {}),
          ...(guest.config.lock !== undefined ? { lock: guest.config.lock } : {}),
          ...(guest.config.tags !== undefined ? { tags: guest.config.tags } : {}),
        }));
    },
  });

  routes.push({
    method: 'POST', path: base, schema: S.create, mutating: true,
    perm: (p) => [p.pool !== undefined ? { path: `/pool/${p.pool}`, privileges: ['VM.Allocate'] } : { path: `/vms/${p.vmid}`, privileges: ['VM.Allocate'] }],
    handler: async (ctx) => {
      const { sim, params } = ctx;
      const node = String(params.node);
      const vmid = Number(params.vmid);
      sim.requireNode(node);
      const taken = sim.cluster.guests.get(vmid);
      if (taken) throw fail(g.alreadyExists(vmid, taken));
      if (params.sshkeys !== undefined) decodeSshKeys(String(params.sshkeys));
      if (params.pool !== undefined && !sim.cluster.pools.has(String(params.pool))) throw fail(`pool '${params.pool}' does not exist`);
      g.checkDisks(ctx, params);
      if (kind === 'lxc') {
        const template = String(params.ostemplate);
        if (!sim.cluster.storages.some((s) => s.volumes.some((v) => v.volid === template))) throw fail(`volume '${template}' does not exist`);
        if (params.rootfs === undefined) params.rootfs = `${params.storage ?? 'local'}:4`;
        g.checkDisks(ctx, { rootfs: params.rootfs });
      }
      await g.locked(ctx, vmid, () => {
        const raced = sim.cluster.guests.get(vmid);
        if (raced) throw fail(g.alreadyExists(vmid, raced));
        sim.cluster.add({ kind, vmid, node, status: 'stopped', config: { lock: 'create' }, ...(params.pool !== undefined ? { pool: String(params.pool) } : {}) });
      });
      return g.task(
        ctx, 'create', vmid,
        async (t) => {
          t.log(`${label === 'VM' ? 'creating VM' : 'extracting archive'} ${vmid}`);
          await t.sleep(sim.duration(taskType(kind, 'create')));
          const guest = g.live(ctx, vmid, node);
          guest.config = {};
          g.apply(guest, params);
          if (kind === 'lxc' && params['ssh-public-keys'] !== undefined) t.log('setting up SSH keys for root');
          if (Number(params.start ?? 0) === 1) {
            guest.status = 'running';
            guest.startedAt = Date.now();
            g.regenerateCloudInit(guest);
          }
        },
        () => void sim.cluster.guests.delete(vmid),
      );
    },
  });

  // --- config -------------------------------------------------------------------------------
  routes.push({
    method: 'GET', path: `${one}/config`, schema: S.configGet, perm: vmPerm(['VM.Audit']),
    handler: (ctx) => {
      const guest = g.get(ctx);
      if (ctx.params.snapshot !== undefined) {
        const snap = guest.snapshots.find((s) => s.name === ctx.params.snapshot);
        if (!snap) throw fail(`snapshot '${ctx.params.snapshot}' does not exist`);
        return g.view(ctx, guest, snap.config);
      }
      return g.view(ctx, guest);
    },
  });

  const configPerm = (p: Params): PermissionCheck[] => {
    const keys = Object.keys(p).filter((k) => !NON_CONFIG.has(k));
    for (const key of String(p.delete ?? '').split(/[,;\s]+/).filter(Boolean)) keys.push(key);
    const privileges = [...new Set(keys.map((k) => configPrivilege(kind, k)))];
    return privileges.map((privilege) => ({ path: `/vms/${p.vmid}`, privileges: [privilege] }));
  };

  const checkUpdate = (ctx: RequestContext, guest: Guest): void => {
    const { params } = ctx;
    if (params.skiplock !== undefined && ctx.principal.id !== 'root@pam') throw fail('Only root may use this option.');
    g.checkLock(guest, params.skiplock);
    if (params.digest !== undefined && params.digest !== configDigest(guest.config)) {
      throw fail('detected modified configuration - file changed by other user? Try again.');
    }
    if (params.sshkeys !== undefined) decodeSshKeys(String(params.sshkeys));
    g.checkDisks(ctx, params);
  };

  routes.push({
    method: 'PUT', path: `${one}/config`, schema: S.configSet, perm: configPerm, mutating: true,
    handler: async (ctx) => {
      const guest = g.get(ctx);
      await ctx.sim.withGuestLock(kind, guest.vmid, ctx.sim.configLockMs, () => {
        checkUpdate(ctx, g.live(ctx, guest.vmid, guest.node));
        g.apply(guest, ctx.params);
      });
      return null;
    },
  });

  if (kind === 'qemu') {
    routes.push({
      method: 'POST', path: `${one}/config`, schema: schemas.qemu.configPost, perm: configPerm, mutating: true,
      handler: async (ctx) => {
        const guest = g.get(ctx);
        await ctx.sim.withGuestLock(kind, guest.vmid, ctx.sim.configLockMs, () => checkUpdate(ctx, guest));
        return g.task(ctx, 'config', guest.vmid, async (t) => {
          await g.locked(ctx, guest.vmid, async () => {
            const live = g.live(ctx, guest.vmid, guest.node);
            g.checkLock(live, ctx.params.skiplock);
            await t.sleep(ctx.sim.duration('qmconfig'));
            g.apply(live, ctx.params);
          });
        });
      },
    });

    routes.push({
      method: 'PUT', path: `${one}/cloudinit`, schema: schemas.qemu.cloudinit, perm: vmPerm(['VM.Config.Cloudinit']), mutating: true,
      handler: async (ctx) => {
        const guest = g.get(ctx);
        // As qemu-server: without a cloud-init drive this silently does nothing.
        await ctx.sim.withGuestLock(kind, guest.vmid, ctx.sim.configLockMs, () => {
          g.checkLock(guest);
          g.regenerateCloudInit(guest);
        });
        return null;
      },
    });
  }

  // --- status and power -----------------------------------------------------------------------
  routes.push({
    method: 'GET', path: `${one}/status/current`, schema: S.current, perm: vmPerm(['VM.Audit']),
    handler: (ctx) => {
      const guest = g.get(ctx);
      const { cluster } = ctx.sim;
      const running = guest.status === 'running';
      return {
        vmid: guest.vmid,
        name: cluster.name(guest),
        status: guest.status,
        ...(kind === 'qemu' ? { qmpstatus: guest.status } : { type: 'lxc', maxswap: Number(guest.config.swap ?? 512) * 1024 * 1024, swap: 0 }),
        uptime: running && guest.startedAt ? Math.floor((Date.now() - guest.startedAt) / 1000) : 0,
        cpus: Number(guest.config.cores ?? 1) * Number(guest.config.sockets ?? 1),
        cpu: running ? 0.02 : 0,
        maxmem: cluster.memoryBytes(guest),
        mem: running ? Math.round(cluster.memoryBytes(guest) * 0.4) : 0,
        maxdisk: cluster.diskBytes(guest),
        disk: 0,
        netin: 0,
        netout: 0,
        diskread: 0,
        diskwrite: 0,
        ha: { managed: 0 },
        ...(running ? { pid: 10_000 + guest.vmid } : {}),
        ...(guest.config.lock !== undefined ? { lock: guest.config.lock } : {}),
        ...(cluster.isTemplate(guest) ? { template: 1 } : {}),
        ...(kind === 'qemu' && String(guest.config.agent ?? '0').startsWith('1') ? { agent: 1 } : {}),
      };
    },
  });

  const power = (op: 'start' | 'stop' | 'shutdown' | 'reboot'): Route => ({
    method: 'POST', path: `${one}/status/${op}`, schema: S[op], perm: vmPerm(['VM.PowerMgmt']), mutating: true,
    handler: (ctx) => {
      const guest = g.get(ctx);
      const { sim, params } = ctx;
      const vmid = guest.vmid;
      if (params.skiplock !== undefined && ctx.principal.id !== 'root@pam') throw fail('Only root may use this option.');
      if (op === 'reboot' && guest.status !== 'running') throw fail(`${label} ${vmid} not running`);
      return g.task(ctx, op, vmid, async (t) => {
        await t.sleep(50);
        await g.locked(ctx, vmid, async () => {
          const live = g.live(ctx, vmid, guest.node);
          g.checkLock(live, params.skiplock);
          if (op === 'start') {
            if (sim.cluster.isTemplate(live)) throw new Error(kind === 'qemu' ? "you can't start a vm if it's a template" : 'cannot start a template');
            if (live.status === 'running') throw new Error(`${label} ${vmid} already running`);
            if (g.regenerateCloudInit(live)) t.log('generating cloud-init ISO');
          } else if (live.status !== 'running') {
            if (op === 'reboot') throw new Error(`${label} ${vmid} not running`);
            t.log(`${label} ${vmid} not running`);
            return;
          }
          await t.sleep(sim.duration(taskType(kind, op)));
          if (op === 'start' || op === 'reboot') {
            live.status = 'running';
            live.startedAt = Date.now();
          } else {
            live.status = 'stopped';
            delete live.startedAt;
          }
        });
      });
    },
  });
  routes.push(power('start'), power('stop'), power('shutdown'), power('reboot'));

  // --- delete ---------------------------------------------------------------------------------
  routes.push({
    method: 'DELETE', path: one, schema: S.destroy, perm: vmPerm(['VM.Allocate']), mutating: true,
    handler: (ctx) => {
      const guest = g.get(ctx);
      const vmid = guest.vmid;
      if (ctx.params.skiplock !== undefined && ctx.principal.id !== 'root@pam') throw fail('Only root may use this option.');
      g.checkLock(guest, ctx.params.skiplock);
      if (guest.status === 'running' && !(kind === 'lxc' && Number(ctx.params.force ?? 0) === 1)) throw fail(`${label} ${vmid} is running - destroy failed`);
      if (Number(guest.config.protection ?? 0) === 1) throw fail(`can't remove ${label} ${vmid} - protection mode enabled`);
      return g.task(ctx, 'destroy', vmid, async (t) => {
        await g.locked(ctx, vmid, async () => {
          const live = g.live(ctx, vmid, guest.node);
          g.checkLock(live, ctx.params.skiplock);
          for (const key of diskKeys(kind, live.config)) t.log(`Removing image: ${String(live.config[key]).split(',')[0]}`);
          await t.sleep(ctx.sim.duration(taskType(kind, 'destroy')));
          ctx.sim.cluster.guests.delete(vmid);
          if (Number(ctx.params.purge ?? 0) === 1) t.log(`purging ${label} ${vmid} from related configurations..`);
        });
      });
    },
  });

  // --- clone ----------------------------------------------------------------------------------
  routes.push({
    method: 'POST', path: `${one}/clone`, schema: S.clone, mutating: true,
    perm: (p) => [
      { path: `/vms/${p.vmid}`, privileges: ['VM.Clone'] },
      p.pool !== undefined ? { path: `/pool/${p.pool}`, privileges: ['VM.Allocate'] } : { path: `/vms/${p.newid}`, privileges: ['VM.Allocate'] },
    ],
    handler: async (ctx) => {
      const { sim, params } = ctx;
      const source = g.get(ctx);
      const vmid = source.vmid;
      const newid = Number(params.newid);
      const template = sim.cluster.isTemplate(source);
      const full = params.full !== undefined ? Number(params.full) === 1 : !template;
      if (!full && !template) throw fail(`Linked clone feature for ${label} ${vmid} is only possible from a template`);
      if (!full && params.storage !== undefined) throw fail("parameter 'storage' not allowed for linked clones");
      if (!full && params.format !== undefined) throw fail("parameter 'format' not allowed for linked clones");
      const target = params.target !== undefined ? String(params.target) : source.node;
      if (!sim.cluster.nodes.includes(target)) throw fail(`no such cluster node '${target}'`);
      if (target !== source.node) {
        const local = diskKeys(kind, source.config).find((key) => {
          const st = String(source.config[key]).split(':')[0];
          return !sim.cluster.storages.find((s) => s.storage === (params.storage ?? st))?.shared;
        });
        if (local) throw fail(`can't clone ${label} to node '${target}' (${label} uses local storage)`);
      }
      if (params.storage !== undefined) g.checkDisks(ctx, { [kind === 'qemu' ? 'scsi0' : 'rootfs']: `${params.storage}:1` });
      if (params.pool !== undefined && !sim.cluster.pools.has(String(params.pool))) throw fail(`pool '${params.pool}' does not exist`);
      let snapConfig: Config | undefined;
      if (params.snapname !== undefined) {
        snapConfig = source.snapshots.find((s) => s.name === params.snapname)?.config;
        if (!snapConfig) throw fail(`snapshot '${params.snapname}' does not exist`);
      }
      const early = sim.cluster.guests.get(newid);
      if (early) throw fail(g.alreadyExists(newid, early));
      // The API call holds the SOURCE's lock while it checks it and creates the locked target:
      // parallel clones of one template queue here and time out after the lock wait.
      return await sim.withGuestLock(kind, vmid, 0, async () => {
        const live = g.live(ctx, vmid, source.node);
        g.checkLock(live);
        const raced = sim.cluster.guests.get(newid);
        if (raced) throw fail(g.alreadyExists(newid, raced));
        const lockName = kind === 'qemu' ? 'clone' : 'create';
        sim.cluster.add({ kind, vmid: newid, node: target, status: 'stopped', config: { lock: lockName }, ...(params.pool !== undefined ? { pool: String(params.pool) } : {}) });
        await sim.hold(sim.cloneSourceLockMs);
        return g.task(
          ctx, 'clone', vmid,
          async (t) => {
            for (const key of diskKeys(kind, live.config)) t.log(`create ${full ? 'full' : 'linked'} clone of drive ${key} (${String(live.config[key]).split(',')[0]})`);
            await t.sleep(sim.duration(taskType(kind, 'clone')) * (full ? 1 : 0.4));
            if (full) t.log('transferred 3.5 GiB of 3.5 GiB (100.00%)');
            const clone = sim.cluster.guests.get(newid);
            if (!clone) throw new Error(`clone target ${newid} vanished`);
            clone.config = g.cloneConfig(snapConfig ?? live.config, sim.cluster.name(live), newid, full, params.storage === undefined ? undefined : String(params.storage), params);
          },
          () => {
            const clone = sim.cluster.guests.get(newid);
            if (clone?.config.lock === lockName) sim.cluster.guests.delete(newid);
          },
        );
      });
    },
  });

  // --- resize ---------------------------------------------------------------------------------
  routes.push({
    method: 'PUT', path: `${one}/resize`, schema: S.resize, perm: vmPerm(['VM.Config.Disk']), mutating: true,
    handler: (ctx) => {
      const guest = g.get(ctx);
      const disk = String(ctx.params.disk);
      if (guest.config[disk] === undefined) throw fail(`disk '${disk}' does not exist`);
      if (!g.isDiskKey(disk) || String(guest.config[disk]).includes('media=cdrom')) throw fail(`you can't resize a cdrom`);
      g.checkLock(guest, ctx.params.skiplock);
      return g.task(ctx, 'resize', guest.vmid, async (t) => {
        await g.locked(ctx, guest.vmid, async () => {
          const live = g.live(ctx, guest.vmid, guest.node);
          g.checkLock(live, ctx.params.skiplock);
          if (ctx.params.digest !== undefined && ctx.params.digest !== configDigest(live.config)) throw new Error('detected modified configuration - file changed by other user? Try again.');
          const value = String(live.config[disk]);
          const current = parseSize(/size=([\d.]+[KMGT]?)/.exec(value)?.[1] ?? '0') ?? 0;
          const requested = String(ctx.params.size);
          const amount = parseSize(requested.replace(/^\+/, ''))!;
          const next = requested.startsWith('+') ? current + amount : amount;
          if (next < current) throw new Error('shrinking disks is not supported');
          t.log(`Size of logical volume changed from ${formatSize(current)} to ${formatSize(next)}.`);
          await t.sleep(ctx.sim.duration(taskType(kind, 'resize')));
          live.config[disk] = /size=/.test(value) ? value.replace(/size=[\d.]+[KMGT]?/, `size=${formatSize(next)}`) : `${value},size=${formatSize(next)}`;
        });
      });
    },
  });

  // --- snapshots ------------------------------------------------------------------------------
  routes.push({
    method: 'GET', path: `${one}/snapshot`, schema: S.snapshotList, perm: vmPerm(['VM.Audit']),
    handler: (ctx) => {
      const guest = g.get(ctx);
      const parent = guest.snapshots.at(-1)?.name;
      return [
        ...guest.snapshots.map((s) => ({ name: s.name, description: s.description, snaptime: s.snaptime, ...(kind === 'qemu' ? { vmstate: s.vmstate } : {}), ...(s.parent ? { parent: s.parent } : {}) })),
        { name: 'current', description: 'You are here!', digest: configDigest(guest.config), running: guest.status === 'running' ? 1 : 0, ...(parent ? { parent } : {}) },
      ];
    },
  });

  routes.push({
    method: 'POST', path: `${one}/snapshot`, schema: S.snapshotCreate, perm: vmPerm(['VM.Snapshot']), mutating: true,
    handler: (ctx) => {
      const guest = g.get(ctx);
      const name = String(ctx.params.snapname);
      if (name === 'current') throw fail("invalid snapshot name 'current'");
      return g.task(ctx, 'snapshot', guest.vmid, async (t) => {
        await g.locked(ctx, guest.vmid, () => {
          const live = g.live(ctx, guest.vmid, guest.node);
          g.checkLock(live);
          if (live.snapshots.some((s) => s.name === name)) throw new Error(`snapshot name '${name}' already used`);
          live.config.lock = 'snapshot';
        });
        try {
          t.log(`snapshotting '${kind === 'qemu' ? 'drive-scsi0' : 'rootfs'}'`);
          await t.sleep(ctx.sim.duration(taskType(kind, 'snapshot')));
        } finally {
          delete guest.config.lock;
        }
        const config = { ...guest.config };
        guest.snapshots.push({
          name, description: String(ctx.params.description ?? ''), snaptime: Math.floor(Date.now() / 1000),
          vmstate: Number(ctx.params.vmstate ?? 0), ...(guest.snapshots.at(-1) ? { parent: guest.snapshots.at(-1)!.name } : {}), config,
        });
      });
    },
  });

  routes.push({
    method: 'DELETE', path: `${one}/snapshot/{snapname}`, schema: S.snapshotDelete, perm: vmPerm(['VM.Snapshot']), mutating: true,
    handler: (ctx) => {
      const guest = g.get(ctx);
      const name = String(ctx.params.snapname);
      return g.task(ctx, 'delsnapshot', guest.vmid, async (t) => {
        await g.locked(ctx, guest.vmid, () => {
          const live = g.live(ctx, guest.vmid, guest.node);
          if (!live.snapshots.some((s) => s.name === name)) throw new Error(`snapshot '${name}' does not exist`);
          g.checkLock(live);
          live.config.lock = 'snapshot-delete';
        });
        try {
          t.log(`delete snapshot '${name}'`);
          await t.sleep(ctx.sim.duration(taskType(kind, 'delsnapshot')));
        } finally {
          delete guest.config.lock;
        }
        const removed = guest.snapshots.find((s) => s.name === name);
        guest.snapshots = guest.snapshots.filter((s) => s.name !== name);
        for (const s of guest.snapshots) {
          if (s.parent === name) {
            if (removed?.parent) s.parent = removed.parent;
            else delete s.parent;
          }
        }
      });
    },
  });

  routes.push({
    method: 'POST', path: `${one}/snapshot/{snapname}/rollback`, schema: S.rollback, perm: vmPerm(['VM.Snapshot', 'VM.Snapshot.Rollback'], true), mutating: true,
    handler: (ctx) => {
      const guest = g.get(ctx);
      const name = String(ctx.params.snapname);
      return g.task(ctx, 'rollback', guest.vmid, async (t) => {
        let snapshot: Guest['snapshots'][number] | undefined;
        await g.locked(ctx, guest.vmid, () => {
          const live = g.live(ctx, guest.vmid, guest.node);
          snapshot = live.snapshots.find((s) => s.name === name);
          if (!snapshot) throw new Error(`snapshot '${name}' does not exist`);
          g.checkLock(live);
          live.config.lock = 'rollback';
        });
        t.log(`rollback to snapshot '${name}'`);
        await t.sleep(ctx.sim.duration(taskType(kind, 'rollback')));
        guest.config = { ...snapshot!.config };
        delete guest.config.lock;
        if (!(kind === 'qemu' && snapshot!.vmstate === 1)) {
          guest.status = 'stopped';
          delete guest.startedAt;
        }
        if (Number(ctx.params.start ?? 0) === 1 && guest.status !== 'running') {
          guest.status = 'running';
          guest.startedAt = Date.now();
        }
      });
    },
  });

  // --- migrate --------------------------------------------------------------------------------
  routes.push({
    method: 'POST', path: `${one}/migrate`, schema: S.migrate, perm: vmPerm(['VM.Migrate']), mutating: true,
    handler: (ctx) => {
      const guest = g.get(ctx);
      const { sim, params } = ctx;
      const target = String(params.target);
      if (target === guest.node) throw fail('target is local node.');
      if (!sim.cluster.nodes.includes(target)) throw fail(`no such cluster node '${target}'`);
      g.checkLock(guest);
      if (guest.status === 'running') {
        if (kind === 'qemu' && Number(params.online ?? 0) !== 1) throw fail("can't migrate running VM without --online");
        if (kind === 'lxc' && Number(params.online ?? 0) === 1) throw fail('lxc live migration is currently not implemented');
        if (kind === 'lxc' && Number(params.restart ?? 0) !== 1) throw fail(`CT ${guest.vmid} is running - use online migration`);
        if (kind === 'qemu' && Number(params['with-local-disks'] ?? 0) !== 1) {
          const local = diskKeys(kind, guest.config).find((key) => !sim.cluster.storages.find((s) => s.storage === String(guest.config[key]).split(':')[0])?.shared);
          if (local) throw fail(`can't migrate local disk '${String(guest.config[local]).split(',')[0]}': use --with-local-disks`);
        }
      }
      return g.task(ctx, 'migrate', guest.vmid, async (t) => {
        await g.locked(ctx, guest.vmid, () => {
          const live = g.live(ctx, guest.vmid, guest.node);
          g.checkLock(live);
          live.config.lock = 'migrate';
        });
        t.log(`starting migration of ${label} ${guest.vmid} to node '${target}'`);
        try {
          await t.sleep(sim.duration(taskType(kind, 'migrate')));
          guest.node = target;
          t.log('migration finished successfully');
        } finally {
          delete guest.config.lock;
        }
      });
    },
  });

  return routes;
}
