// The simulated cluster: nodes, storages and guests (QEMU VMs and LXC containers) with their
// configuration, run state, snapshots and the cloud-init data last written to their drive.

import { createHash } from 'node:crypto';

export type Kind = 'qemu' | 'lxc';
export type Config = Record<string, string | number>;

export interface Snapshot {
  name: string;
  description: string;
  snaptime: number;
  vmstate: number;
  parent?: string;
  config: Config;
}

/** What the guest's cloud-init drive holds after the last regeneration (decoded, as the guest sees it). */
export interface CloudInitDrive {
  generatedAt: number;
  user?: string;
  password?: string;
  sshKeys: string[];
  ipconfig: Record<string, string>;
  nameserver?: string;
  searchdomain?: string;
}

export interface Guest {
  kind: Kind;
  vmid: number;
  node: string;
  status: 'running' | 'stopped';
  config: Config;
  snapshots: Snapshot[];
  pool?: string;
  startedAt?: number;
  cloudInit?: CloudInitDrive;
}

export interface Storage {
  storage: string;
  type: string;
  content: string[];
  shared: boolean;
  total: number;
  /** Static volumes (templates, ISOs) besides guest disks. */
  volumes: Array<{ volid: string; content: string; size: number; format: string }>;
}

export const KIND_LABEL: Record<Kind, { guest: string; confDir: string }> = {
  qemu: { guest: 'VM', confDir: 'qemu-server' },
  lxc: { guest: 'CT', confDir: 'lxc' },
};

export function lockFile(kind: Kind, vmid: number): string {
  return kind === 'qemu' ? `/var/lock/qemu-server/lock-${vmid}.conf` : `/run/lock/lxc/pve-config-${vmid}.lock`;
}

export function configDigest(config: Config): string {
  const keys = Object.keys(config).filter((k) => k !== 'digest').sort();
  return createHash('sha1').update(keys.map((k) => `${k}: ${config[k]}`).join('\n')).digest('hex');
}

/** Disk keys of a config (volumes with a size), e.g. scsi0, virtio1, rootfs, mp0. */
export function diskKeys(kind: Kind, config: Config): string[] {
  const re = kind === 'qemu' ? /^(ide|sata|scsi|virtio)\d+$/ : /^(rootfs|mp\d+)$/;
  return Object.keys(config).filter((k) => re.test(k) && !String(config[k]).includes('media=cdrom'));
}

export function cloudInitDriveKey(config: Config): string | undefined {
  return Object.keys(config).find((k) => /^(ide|sata|scsi)\d+$/.test(k) && String(config[k]).includes('cloudinit'));
}

let macCounter = 0x100;
export function newMac(): string {
  macCounter += 1;
  const n = macCounter;
  return `BC:24:11:${((n >> 16) & 0xff).toString(16).padStart(2, '0')}:${((n >> 8) & 0xff).toString(16).padStart(2, '0')}:${(n & 0xff).toString(16).padStart(2, '0')}`.toUpperCase();
}

export function parseSize(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)([KMGT]?)$/.exec(text);
  if (!m) return undefined;
  const unit = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 }[m[2] as '' | 'K' | 'M' | 'G' | 'T'];
  return Math.round(Number(m[1]) * unit);
}

export function formatSize(bytes: number): string {
  for (const [unit, factor] of [['T', 1024 ** 4], ['G', 1024 ** 3], ['M', 1024 ** 2], ['K', 1024]] as const) {
    if (bytes % factor === 0) return `${bytes / factor}${unit}`;
  }
  return String(bytes);
}

export class Cluster {
  readonly nodes: string[];
  readonly storages: Storage[];
  readonly guests = new Map<number, Guest>();
  readonly pools = new Set<string>(['prod', 'lab']);

  constructor(nodes: string[]) {
    this.nodes = nodes;
    const GiB = 1024 ** 3;
    this.storages = [
      {
        storage: 'local', type: 'dir', content: ['iso', 'vztmpl', 'backup'], shared: false, total: 100 * GiB,
        volumes: [
          { volid: 'local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst', content: 'vztmpl', size: 126 * 1024 ** 2, format: 'tzst' },
          { volid: 'local:vztmpl/ubuntu-24.04-standard_24.04-2_amd64.tar.zst', content: 'vztmpl', size: 141 * 1024 ** 2, format: 'tzst' },
          { volid: 'local:iso/ubuntu-24.04.1-live-server-amd64.iso', content: 'iso', size: 2 * GiB, format: 'iso' },
        ],
      },
      { storage: 'local-lvm', type: 'lvmthin', content: ['images', 'rootdir'], shared: false, total: 500 * GiB, volumes: [] },
      { storage: 'ceph', type: 'rbd', content: ['images', 'rootdir'], shared: true, total: 4096 * GiB, volumes: [] },
    ];
  }

  /** The default lab: a cloud-init template on shared storage, a few VMs and containers. */
  seed(): void {
    const [first = 'pve1', second = first] = this.nodes;
    this.add({
      kind: 'qemu', vmid: 9000, node: first, status: 'stopped',
      config: {
        name: 'ubuntu-2404-cloud', template: 1, memory: '2048', cores: 2, sockets: 1, ostype: 'l26', scsihw: 'virtio-scsi-single',
        scsi0: 'ceph:base-9000-disk-0,size=3584M', ide2: 'ceph:vm-9000-cloudinit,media=cdrom', boot: 'order=scsi0',
        net0: 'virtio=BC:24:11:90:00:00,bridge=vmbr0', agent: '1', serial0: 'socket', vga: 'serial0', ciuser: 'ubuntu', ipconfig0: 'ip=dhcp',
        smbios1: 'uuid=5a0c1c0e-9000-4000-8000-000000009000', vmgenid: '00000000-0000-4000-8000-000000009000',
      },
    });
    this.add({
      kind: 'qemu', vmid: 100, node: first, status: 'running', startedAt: Date.now(),
      config: {
        name: 'web01', memory: '4096', cores: 2, sockets: 1, ostype: 'l26', scsihw: 'virtio-scsi-single',
        scsi0: 'local-lvm:vm-100-disk-0,size=32G', ide2: 'local-lvm:vm-100-cloudinit,media=cdrom', boot: 'order=scsi0',
        net0: 'virtio=BC:24:11:00:01:00,bridge=vmbr0', ciuser: 'ops', ipconfig0: 'ip=10.0.0.10/24,gw=10.0.0.1',
      },
    });
    this.add({
      kind: 'qemu', vmid: 101, node: second, status: 'stopped',
      config: { name: 'db01', memory: '8192', cores: 4, sockets: 1, ostype: 'l26', scsi0: 'ceph:vm-101-disk-0,size=64G', net0: 'virtio=BC:24:11:00:01:01,bridge=vmbr0' },
    });
    this.add({
      kind: 'lxc', vmid: 200, node: first, status: 'running', startedAt: Date.now(),
      config: { hostname: 'ct-dns', memory: 512, swap: 512, cores: 1, ostype: 'debian', arch: 'amd64', unprivileged: 1, rootfs: 'local-lvm:vm-200-disk-0,size=8G', net0: 'name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:02:00,ip=dhcp,type=veth' },
    });
    this.add({
      kind: 'lxc', vmid: 8000, node: first, status: 'stopped',
      config: { hostname: 'debian-12-base', template: 1, memory: 512, swap: 512, cores: 1, ostype: 'debian', arch: 'amd64', unprivileged: 1, rootfs: 'ceph:base-8000-disk-0,size=4G', net0: 'name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:80:00,ip=dhcp,type=veth' },
    });
  }

  add(guest: Omit<Guest, 'snapshots'> & { snapshots?: Snapshot[] }): Guest {
    const full: Guest = { snapshots: [], ...guest };
    this.guests.set(full.vmid, full);
    return full;
  }

  /** The lowest free VMID from 100 (what /cluster/nextid answers; it reserves nothing). */
  nextId(): number {
    for (let id = 100; id < 1_000_000_000; id++) if (!this.guests.has(id)) return id;
    throw new Error('no free VMID');
  }

  isTemplate(guest: Guest): boolean {
    return Number(guest.config.template ?? 0) === 1;
  }

  name(guest: Guest): string {
    return String(guest.kind === 'qemu' ? (guest.config.name ?? `VM ${guest.vmid}`) : (guest.config.hostname ?? `CT${guest.vmid}`));
  }

  diskBytes(guest: Guest): number {
    let total = 0;
    for (const key of diskKeys(guest.kind, guest.config)) {
      const size = /size=([\d.]+[KMGT]?)/.exec(String(guest.config[key]))?.[1];
      total += size ? (parseSize(size) ?? 0) : 0;
    }
    return total;
  }

  memoryBytes(guest: Guest): number {
    return Number(String(guest.config.memory ?? 512).split(',')[0]) * 1024 * 1024;
  }

  /** The volumes of guest disks on a storage (for storage content). */
  guestVolumes(storage: string, node: string): Array<{ volid: string; content: string; size: number; format: string; vmid: number }> {
    const found: Array<{ volid: string; content: string; size: number; format: string; vmid: number }> = [];
    const shared = this.storages.find((s) => s.storage === storage)?.shared === true;
    for (const guest of this.guests.values()) {
      if (!shared && guest.node !== node) continue;
      for (const [key, value] of Object.entries(guest.config)) {
        const text = String(value);
        if (!text.startsWith(`${storage}:`) || !(/^(ide|sata|scsi|virtio|efidisk|tpmstate)\d+$|^(rootfs|mp\d+)$/.test(key))) continue;
        const volid = text.split(',')[0]!;
        const size = parseSize(/size=([\d.]+[KMGT]?)/.exec(text)?.[1] ?? '') ?? 4 * 1024 ** 2;
        found.push({ volid, content: guest.kind === 'qemu' ? 'images' : 'rootdir', size, format: 'raw', vmid: guest.vmid });
      }
    }
    return found;
  }
}
