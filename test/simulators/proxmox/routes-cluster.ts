// Cluster-wide endpoints: version, login, cluster resources, next VMID, nodes, storage, tasks.

import { parseUpid } from './tasks.ts';
import { bool, fail, int, node, optional, paramError, str, vmid, type Params } from './schema.ts';
import { Envelope, type Route, type RequestContext } from './server.ts';
import type { Guest } from './cluster.ts';

const storageId = { type: 'string', format: 'pve-storage-id' } as const;

function guestResource(ctx: RequestContext, guest: Guest): Record<string, unknown> {
  const { cluster } = ctx.sim;
  const running = guest.status === 'running';
  return {
    id: `${guest.kind}/${guest.vmid}`,
    type: guest.kind,
    vmid: guest.vmid,
    node: guest.node,
    name: cluster.name(guest),
    status: guest.status,
    template: cluster.isTemplate(guest) ? 1 : 0,
    maxmem: cluster.memoryBytes(guest),
    mem: running ? Math.round(cluster.memoryBytes(guest) * 0.4) : 0,
    maxcpu: Number(guest.config.cores ?? 1) * Number(guest.config.sockets ?? 1),
    cpu: running ? 0.03 : 0,
    maxdisk: cluster.diskBytes(guest),
    disk: 0,
    uptime: running && guest.startedAt ? Math.floor((Date.now() - guest.startedAt) / 1000) : 0,
    netin: 0,
    netout: 0,
    diskread: 0,
    diskwrite: 0,
    hastate: undefined,
    ...(guest.pool ? { pool: guest.pool } : {}),
    ...(guest.config.lock ? { lock: guest.config.lock } : {}),
    ...(guest.config.tags ? { tags: guest.config.tags } : {}),
  };
}

function nodeResource(name: string): Record<string, unknown> {
  return {
    id: `node/${name}`, type: 'node', node: name, status: 'online', cpu: 0.05, maxcpu: 32, mem: 24 * 1024 ** 3,
    maxmem: 128 * 1024 ** 3, disk: 12 * 1024 ** 3, maxdisk: 100 * 1024 ** 3, uptime: 864_000, level: '', 'cgroup-mode': 2,
  };
}

function storageResources(ctx: RequestContext, nodeName: string, filter: Params): Record<string, unknown>[] {
  const { cluster } = ctx.sim;
  return cluster.storages
    .filter(() => ctx.principal.privileges.has('Datastore.Audit') || ctx.principal.privileges.has('Datastore.AllocateSpace'))
    .filter((s) => filter.storage === undefined || s.storage === filter.storage)
    .filter((s) => filter.content === undefined || String(filter.content).split(',').every((c) => s.content.includes(c)))
    .map((s) => {
      const used = cluster.guestVolumes(s.storage, nodeName).reduce((sum, v) => sum + v.size, 0) + s.volumes.reduce((sum, v) => sum + v.size, 0);
      return {
        storage: s.storage, type: s.type, content: s.content.join(','), shared: s.shared ? 1 : 0, active: 1, enabled: 1,
        total: s.total, used, avail: s.total - used, used_fraction: used / s.total,
      };
    });
}

export function clusterRoutes(): Route[] {
  return [
    {
      method: 'GET', path: '/version', schema: { props: {} },
      handler: () => ({ version: '8.3.2', release: '8.3', repoid: '3e76eec21c4a14a7', console: 'html5' }),
    },
    {
      method: 'POST', path: '/access/ticket', public: true,
      schema: { props: { username: { type: 'string' }, password: { type: 'string' }, realm: optional({ type: 'string' }), otp: str, 'new-format': bool, path: str, privs: str, 'tfa-challenge': str } },
      handler: ({ sim, params }) =>
        sim.auth.login({
          username: String(params.username),
          password: String(params.password),
          ...(params.realm !== undefined ? { realm: String(params.realm) } : {}),
          ...(params.otp !== undefined ? { otp: String(params.otp) } : {}),
          ...(params['tfa-challenge'] !== undefined ? { 'tfa-challenge': String(params['tfa-challenge']) } : {}),
          ...(params['new-format'] !== undefined ? { 'new-format': Boolean(params['new-format']) } : {}),
        }),
    },
    {
      method: 'GET', path: '/cluster/resources', schema: { props: { type: optional({ type: 'string', enum: ['vm', 'storage', 'node', 'sdn'] }) } },
      handler: (ctx) => {
        const { cluster } = ctx.sim;
        const type = ctx.params.type;
        const out: Record<string, unknown>[] = [];
        if (type === undefined || type === 'vm') {
          if (ctx.principal.privileges.has('VM.Audit')) for (const guest of cluster.guests.values()) out.push(guestResource(ctx, guest));
        }
        if (type === undefined || type === 'node') for (const name of cluster.nodes) out.push(nodeResource(name));
        if (type === undefined || type === 'storage') {
          for (const name of cluster.nodes) {
            for (const s of storageResources(ctx, name, {})) {
              out.push({
                id: `storage/${name}/${s.storage}`, type: 'storage', storage: s.storage, node: name, status: 'available', content: s.content,
                plugintype: s.type, shared: s.shared, disk: s.used, maxdisk: s.total,
              });
            }
          }
        }
        return out;
      },
    },
    {
      method: 'GET', path: '/cluster/nextid', schema: { props: { vmid: optional(vmid) } },
      handler: ({ sim, params }) => {
        if (params.vmid !== undefined) {
          const id = Number(params.vmid);
          if (sim.cluster.guests.has(id)) throw paramError({ vmid: `VM ${id} already exists` });
          return String(id);
        }
        return String(sim.cluster.nextId());
      },
    },
    {
      method: 'GET', path: '/nodes', schema: { props: {} },
      handler: ({ sim }) =>
        sim.cluster.nodes.map((name) => {
          const r = nodeResource(name);
          return { node: name, status: 'online', cpu: r.cpu, maxcpu: r.maxcpu, mem: r.mem, maxmem: r.maxmem, disk: r.disk, maxdisk: r.maxdisk, uptime: r.uptime, level: '', id: r.id, type: 'node', ssl_fingerprint: 'AB:CD' };
        }),
    },
    {
      method: 'GET', path: '/storage',
      schema: { props: { type: optional({ type: 'string', enum: ['btrfs', 'cephfs', 'cifs', 'dir', 'esxi', 'iscsi', 'iscsidirect', 'lvm', 'lvmthin', 'nfs', 'pbs', 'rbd', 'zfs', 'zfspool'] }) } },
      handler: ({ sim, params, principal }) =>
        sim.cluster.storages
          .filter((s) => params.type === undefined || s.type === params.type)
          .filter(() => principal.privileges.has('Datastore.Audit') || principal.privileges.has('Datastore.AllocateSpace'))
          .map((s) => ({ storage: s.storage, type: s.type, content: s.content.join(','), shared: s.shared ? 1 : 0, digest: 'a1b2c3' })),
    },
    {
      method: 'GET', path: '/nodes/{node}/storage',
      schema: { props: { node, content: str, enabled: bool, format: bool, storage: optional(storageId), target: optional(node) } },
      handler: (ctx) => {
        ctx.sim.requireNode(String(ctx.params.node));
        return storageResources(ctx, String(ctx.params.node), ctx.params);
      },
    },
    {
      method: 'GET', path: '/nodes/{node}/storage/{storage}/content',
      schema: { props: { node, storage: storageId, content: str, vmid: optional(vmid) } },
      perm: (p) => [{ path: `/storage/${p.storage}`, privileges: ['Datastore.Audit', 'Datastore.AllocateSpace'], any: true }],
      handler: ({ sim, params }) => {
        const nodeName = String(params.node);
        sim.requireNode(nodeName);
        const storage = sim.cluster.storages.find((s) => s.storage === params.storage);
        if (!storage) throw fail(`storage '${params.storage}' does not exist`);
        const ctime = Math.floor(Date.now() / 1000) - 86_400;
        return [...storage.volumes.map((v) => ({ ...v, ctime })), ...sim.cluster.guestVolumes(storage.storage, nodeName).map((v) => ({ ...v, ctime }))]
          .filter((v) => params.content === undefined || v.content === params.content)
          .filter((v) => params.vmid === undefined || ('vmid' in v && v.vmid === params.vmid));
      },
    },
    {
      method: 'GET', path: '/nodes/{node}/tasks',
      schema: { props: { node, start: int(0), limit: int(0), vmid: optional(vmid), typefilter: str, source: optional({ type: 'string', enum: ['archive', 'active', 'all'] }), errors: bool, userfilter: str, statusfilter: str, since: int(), until: int() } },
      handler: ({ sim, params }) => {
        sim.requireNode(String(params.node));
        const all = [...sim.tasks.tasks.values()]
          .filter((t) => t.node === params.node)
          .filter((t) => params.vmid === undefined || t.id === String(params.vmid))
          .filter((t) => params.typefilter === undefined || t.type === params.typefilter)
          .filter((t) => params.source !== 'active' || t.status === 'running')
          .reverse();
        const start = Number(params.start ?? 0);
        return all.slice(start, start + Number(params.limit ?? 50)).map((t) => ({
          upid: t.upid, node: t.node, pid: t.pid, pstart: t.pstart, starttime: t.starttime, type: t.type, id: t.id, user: t.user,
          ...(t.status === 'stopped' ? { status: t.exitstatus, endtime: t.endtime } : {}),
        }));
      },
    },
    {
      method: 'GET', path: '/nodes/{node}/tasks/{upid}/status', schema: { props: { node, upid: { type: 'string' } } },
      handler: ({ sim, params }) => {
        const task = findTask(sim.tasks.tasks, params);
        return {
          upid: task.upid, node: task.node, pid: task.pid, pstart: task.pstart, starttime: task.starttime, type: task.type, id: task.id,
          user: task.user, status: task.status, ...(task.exitstatus !== undefined ? { exitstatus: task.exitstatus } : {}),
        };
      },
    },
    {
      method: 'GET', path: '/nodes/{node}/tasks/{upid}/log', schema: { props: { node, upid: { type: 'string' }, start: int(0), limit: int(0), download: bool } },
      handler: ({ sim, params }) => {
        const task = findTask(sim.tasks.tasks, params);
        const log = sim.tasks.logOf(task.upid, Number(params.start ?? 0), Number(params.limit ?? 50))!;
        return new Envelope({ data: log.lines, total: log.total });
      },
    },
  ];
}

function findTask<T extends { node: string }>(tasks: Map<string, T>, params: Params): T {
  const upid = String(params.upid);
  const parsed = parseUpid(upid);
  if (!parsed) throw paramError({ upid: 'unable to parse worker upid' });
  // Task logs live on the node that ran the task: asking another node finds nothing.
  const task = parsed.node === params.node ? tasks.get(upid) : undefined;
  if (!task) throw fail(`no such task '${upid}'`);
  return task;
}
