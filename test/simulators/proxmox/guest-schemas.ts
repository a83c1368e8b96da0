// Parameter schemas of the guest endpoints the node uses (from pve-docs api-viewer/apidata.js,
// the subset of configuration options the simulator models).

import { bool, int, node, optional, str, vmid, type ParamSpec, type Schema } from './schema.ts';

const DISK: ParamSpec = { type: 'string', optional: true };

/** QEMU configuration options accepted by create and config update. */
const qemuConfigProps: Record<string, ParamSpec> = {
  name: { type: 'string', optional: true, format: 'dns-name' },
  description: { type: 'string', optional: true, maxLength: 8192 },
  memory: str,
  balloon: int(0),
  cores: int(1),
  sockets: int(1),
  vcpus: int(1),
  cpu: str,
  numa: bool,
  ostype: { type: 'string', optional: true, enum: ['other', 'wxp', 'w2k', 'w2k3', 'w2k8', 'wvista', 'win7', 'win8', 'win10', 'win11', 'l24', 'l26', 'solaris'] },
  scsihw: { type: 'string', optional: true, enum: ['lsi', 'lsi53c810', 'virtio-scsi-pci', 'virtio-scsi-single', 'megasas', 'pvscsi'] },
  bios: { type: 'string', optional: true, enum: ['seabios', 'ovmf'] },
  machine: str,
  boot: str,
  agent: str,
  onboot: bool,
  protection: bool,
  tags: str,
  template: bool,
  serial0: str,
  vga: str,
  smbios1: str,
  vmgenid: str,
  kvm: bool,
  acpi: bool,
  hotplug: str,
  startup: str,
  citype: { type: 'string', optional: true, enum: ['configdrive2', 'nocloud', 'opennebula'] },
  ciuser: str,
  cipassword: str,
  ciupgrade: bool,
  cicustom: str,
  sshkeys: { type: 'string', optional: true, format: 'urlencoded' },
  nameserver: str,
  searchdomain: str,
  efidisk0: DISK,
  tpmstate0: DISK,
};

const qemuConfigPatterns: Array<[RegExp, ParamSpec]> = [
  [/^(ide[0-3]|sata[0-5]|scsi([0-9]|[12][0-9]|30)|virtio([0-9]|1[0-5]))$/, DISK],
  [/^net([0-9]|[1-2][0-9]|3[01])$/, str],
  [/^ipconfig([0-9]|[1-2][0-9]|3[01])$/, { type: 'string', optional: true, format: 'pve-qm-ipconfig' }],
  [/^unused\d+$/, str],
];

const lxcConfigProps: Record<string, ParamSpec> = {
  hostname: { type: 'string', optional: true, format: 'dns-name' },
  description: { type: 'string', optional: true, maxLength: 8192 },
  memory: int(16),
  swap: int(0),
  cores: int(1, 8192),
  cpulimit: { type: 'number', optional: true, min: 0, max: 8192 },
  onboot: bool,
  protection: bool,
  tags: str,
  template: bool,
  unprivileged: bool,
  features: str,
  nameserver: str,
  searchdomain: str,
  startup: str,
  ostype: { type: 'string', optional: true, enum: ['debian', 'devuan', 'ubuntu', 'centos', 'fedora', 'opensuse', 'archlinux', 'alpine', 'gentoo', 'nixos', 'unmanaged'] },
  arch: { type: 'string', optional: true, enum: ['amd64', 'i386', 'arm64', 'armhf', 'riscv32', 'riscv64'] },
  rootfs: str,
  timezone: str,
};

const lxcConfigPatterns: Array<[RegExp, ParamSpec]> = [
  [/^mp([0-9]|[1-9][0-9]|2[0-5][0-5])$/, str],
  [/^net([0-9]|[1-2][0-9]|3[01])$/, str],
  [/^unused\d+$/, str],
];

const path = { node, vmid };
const nodeOnly = { node };

export const schemas = {
  qemu: {
    list: { props: { ...nodeOnly, full: bool } },
    create: {
      props: { ...path, ...qemuConfigProps, pool: { type: 'string', optional: true, format: 'pve-poolid' }, start: bool, storage: { type: 'string', optional: true, format: 'pve-storage-id' }, unique: bool },
      patterns: qemuConfigPatterns,
    },
    configGet: { props: { ...path, current: bool, snapshot: { type: 'string', optional: true, format: 'pve-configid' } } },
    configSet: {
      props: { ...path, ...qemuConfigProps, delete: { type: 'string', optional: true, format: 'pve-configid-list' }, revert: { type: 'string', optional: true, format: 'pve-configid-list' }, digest: { type: 'string', optional: true, maxLength: 64 }, skiplock: bool },
      patterns: qemuConfigPatterns,
    },
    configPost: {
      props: { ...path, ...qemuConfigProps, delete: { type: 'string', optional: true, format: 'pve-configid-list' }, revert: { type: 'string', optional: true, format: 'pve-configid-list' }, digest: { type: 'string', optional: true, maxLength: 64 }, skiplock: bool, background_delay: int(1, 30) },
      patterns: qemuConfigPatterns,
    },
    clone: {
      props: {
        ...path, newid: vmid, name: { type: 'string', optional: true, format: 'dns-name' }, description: str, full: bool,
        target: optional(node), storage: { type: 'string', optional: true, format: 'pve-storage-id' }, pool: { type: 'string', optional: true, format: 'pve-poolid' },
        snapname: { type: 'string', optional: true, format: 'pve-configid' }, format: { type: 'string', optional: true, enum: ['raw', 'qcow2', 'vmdk'] }, bwlimit: int(0),
      },
    },
    start: { props: { ...path, skiplock: bool, timeout: int(0), machine: str } },
    stop: { props: { ...path, skiplock: bool, timeout: int(0), keepActive: bool, 'overrule-shutdown': bool } },
    shutdown: { props: { ...path, skiplock: bool, timeout: int(0), forceStop: bool, keepActive: bool } },
    reboot: { props: { ...path, timeout: int(0) } },
    current: { props: { ...path } },
    destroy: { props: { ...path, purge: bool, 'destroy-unreferenced-disks': bool, skiplock: bool } },
    resize: { props: { ...path, disk: { type: 'string', format: 'pve-configid' }, size: { type: 'string', format: 'disk-size' }, digest: str, skiplock: bool } },
    snapshotList: { props: { ...path } },
    snapshotCreate: { props: { ...path, snapname: { type: 'string', format: 'pve-configid', maxLength: 40 }, description: str, vmstate: bool } },
    snapshotDelete: { props: { ...path, snapname: { type: 'string', format: 'pve-configid' }, force: bool } },
    rollback: { props: { ...path, snapname: { type: 'string', format: 'pve-configid' }, start: bool } },
    migrate: { props: { ...path, target: node, online: bool, 'with-local-disks': bool, targetstorage: str, bwlimit: int(0), force: bool } },
    cloudinit: { props: { ...path } },
  },
  lxc: {
    list: { props: { ...nodeOnly } },
    create: {
      props: {
        ...path, ...lxcConfigProps, ostemplate: { type: 'string', format: 'pve-volume-id' }, password: str,
        'ssh-public-keys': str, storage: { type: 'string', optional: true, format: 'pve-storage-id' }, pool: { type: 'string', optional: true, format: 'pve-poolid' },
        start: bool, force: bool, unique: bool,
      },
      patterns: lxcConfigPatterns,
    },
    configGet: { props: { ...path, current: bool, snapshot: { type: 'string', optional: true, format: 'pve-configid' } } },
    configSet: {
      props: { ...path, ...lxcConfigProps, delete: { type: 'string', optional: true, format: 'pve-configid-list' }, revert: { type: 'string', optional: true, format: 'pve-configid-list' }, digest: { type: 'string', optional: true, maxLength: 64 } },
      patterns: lxcConfigPatterns,
    },
    clone: {
      props: {
        ...path, newid: vmid, hostname: { type: 'string', optional: true, format: 'dns-name' }, description: str, full: bool,
        target: optional(node), storage: { type: 'string', optional: true, format: 'pve-storage-id' }, pool: { type: 'string', optional: true, format: 'pve-poolid' },
        snapname: { type: 'string', optional: true, format: 'pve-configid' }, bwlimit: { type: 'number', optional: true, min: 0 },
      },
    },
    start: { props: { ...path, skiplock: bool, debug: bool } },
    stop: { props: { ...path, skiplock: bool, 'overrule-shutdown': bool } },
    shutdown: { props: { ...path, timeout: int(0), forceStop: bool } },
    reboot: { props: { ...path, timeout: int(0) } },
    current: { props: { ...path } },
    destroy: { props: { ...path, purge: bool, force: bool, 'destroy-unreferenced-disks': bool } },
    resize: { props: { ...path, disk: { type: 'string', enum: ['rootfs', ...Array.from({ length: 256 }, (_, i) => `mp${i}`)] }, size: { type: 'string', format: 'disk-size' }, digest: str } },
    snapshotList: { props: { ...path } },
    snapshotCreate: { props: { ...path, snapname: { type: 'string', format: 'pve-configid', maxLength: 40 }, description: str } },
    snapshotDelete: { props: { ...path, snapname: { type: 'string', format: 'pve-configid' }, force: bool } },
    rollback: { props: { ...path, snapname: { type: 'string', format: 'pve-configid' }, start: bool } },
    migrate: { props: { ...path, target: node, online: bool, restart: bool, timeout: int(), 'target-storage': str, bwlimit: { type: 'number', optional: true, min: 0 } } },
  },
} satisfies Record<string, Record<string, Schema>>;

/** Privilege needed to change each configuration key (the API checks per key class). */
export function configPrivilege(kind: 'qemu' | 'lxc', key: string): string {
  if (/^(ci|sshkeys$|ipconfig\d|nameserver$|searchdomain$)/.test(key)) return kind === 'qemu' ? 'VM.Config.Cloudinit' : 'VM.Config.Network';
  if (/^(memory|balloon|swap)$/.test(key)) return 'VM.Config.Memory';
  if (/^(cores|sockets|vcpus|cpu|cpulimit|numa)$/.test(key)) return 'VM.Config.CPU';
  if (/^net\d+$/.test(key)) return 'VM.Config.Network';
  if (/^(ide|sata|scsi|virtio|efidisk|tpmstate|unused|mp)\d+$|^rootfs$/.test(key)) return 'VM.Config.Disk';
  if (/^(scsihw|bios|machine|vga|serial\d|kvm|acpi|hotplug)$/.test(key)) return 'VM.Config.HWType';
  return 'VM.Config.Options';
}
