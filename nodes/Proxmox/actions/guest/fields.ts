// Configuration fields of VMs and containers (create, update config, clone's cloud-init) and
// their translation into API parameters, with validation before anything is sent.

import type { IDataObject, INodeProperties } from 'n8n-workflow';
import { encodeSshKeys, ipConfigValue, isDnsName, sshKeyProblems, type ApiParams } from '../../transport/encode.ts';
import type { GuestResource } from '../shared.ts';

const OSTYPES = ['l26', 'l24', 'other', 'win11', 'win10', 'win8', 'win7', 'wvista', 'w2k8', 'w2k3', 'w2k', 'wxp', 'solaris'];
const CT_OSTYPES = ['debian', 'ubuntu', 'alpine', 'centos', 'fedora', 'opensuse', 'archlinux', 'devuan', 'gentoo', 'nixos', 'unmanaged'];

export function vmConfigFields(): INodeProperties[] {
  return [
    { displayName: 'Name', name: 'name', type: 'string', default: '', description: 'VM name (a DNS name)' },
    { displayName: 'Memory (MiB)', name: 'memory', type: 'number', typeOptions: { minValue: 16 }, default: 2048 },
    { displayName: 'Cores', name: 'cores', type: 'number', typeOptions: { minValue: 1 }, default: 2, description: 'CPU cores per socket' },
    { displayName: 'Sockets', name: 'sockets', type: 'number', typeOptions: { minValue: 1 }, default: 1 },
    { displayName: 'CPU Type', name: 'cpu', type: 'string', default: '', placeholder: 'host' },
    { displayName: 'OS Type', name: 'ostype', type: 'options', options: OSTYPES.map((o) => ({ name: o, value: o })), default: 'l26' },
    {
      displayName: 'SCSI Controller',
      name: 'scsihw',
      type: 'options',
      options: ['virtio-scsi-single', 'virtio-scsi-pci', 'lsi', 'lsi53c810', 'megasas', 'pvscsi'].map((o) => ({ name: o, value: o })),
      default: 'virtio-scsi-single',
    },
    { displayName: 'Disk (Scsi0)', name: 'scsi0', type: 'string', default: '', placeholder: 'local-lvm:32,discard=on', description: 'STORAGE:SIZE_IN_GiB allocates a new disk' },
    { displayName: 'CD-ROM / Cloud-Init Drive (Ide2)', name: 'ide2', type: 'string', default: '', placeholder: 'local-lvm:cloudinit', description: 'An ISO (local:iso/x.iso,media=cdrom) or STORAGE:cloudinit' },
    { displayName: 'Network (Net0)', name: 'net0', type: 'string', default: '', placeholder: 'virtio,bridge=vmbr0' },
    { displayName: 'Boot Order', name: 'boot', type: 'string', default: '', placeholder: 'order=scsi0;ide2' },
    { displayName: 'QEMU Guest Agent', name: 'agent', type: 'boolean', default: false },
    { displayName: 'Start at Boot', name: 'onboot', type: 'boolean', default: false },
    { displayName: 'Protection', name: 'protection', type: 'boolean', default: false, description: 'Whether removing the VM or its disks is refused' },
    { displayName: 'Tags', name: 'tags', type: 'string', default: '', placeholder: 'web;prod' },
    { displayName: 'Description', name: 'description', type: 'string', typeOptions: { rows: 2 }, default: '' },
  ];
}

export function containerConfigFields(): INodeProperties[] {
  return [
    { displayName: 'Hostname', name: 'hostname', type: 'string', default: '' },
    { displayName: 'Memory (MiB)', name: 'memory', type: 'number', typeOptions: { minValue: 16 }, default: 512 },
    { displayName: 'Swap (MiB)', name: 'swap', type: 'number', typeOptions: { minValue: 0 }, default: 512 },
    { displayName: 'Cores', name: 'cores', type: 'number', typeOptions: { minValue: 1 }, default: 1 },
    { displayName: 'CPU Limit', name: 'cpulimit', type: 'number', typeOptions: { minValue: 0, numberPrecision: 2 }, default: 0 },
    { displayName: 'Root Disk (Rootfs)', name: 'rootfs', type: 'string', default: '', placeholder: 'local-lvm:8' },
    { displayName: 'Network (Net0)', name: 'net0', type: 'string', default: '', placeholder: 'name=eth0,bridge=vmbr0,ip=dhcp' },
    { displayName: 'OS Type', name: 'ostype', type: 'options', options: CT_OSTYPES.map((o) => ({ name: o, value: o })), default: 'debian' },
    { displayName: 'DNS Server', name: 'nameserver', type: 'string', default: '' },
    { displayName: 'DNS Search Domain', name: 'searchdomain', type: 'string', default: '' },
    { displayName: 'Features', name: 'features', type: 'string', default: '', placeholder: 'nesting=1' },
    { displayName: 'Start at Boot', name: 'onboot', type: 'boolean', default: false },
    { displayName: 'Protection', name: 'protection', type: 'boolean', default: false },
    { displayName: 'Tags', name: 'tags', type: 'string', default: '' },
    { displayName: 'Description', name: 'description', type: 'string', typeOptions: { rows: 2 }, default: '' },
  ];
}

export function cloudInitFields(): INodeProperties[] {
  return [
    { displayName: 'User', name: 'ciuser', type: 'string', default: '', description: 'User to create or change (instead of the image default user)' },
    { displayName: 'Password', name: 'cipassword', type: 'string', typeOptions: { password: true }, default: '' },
    {
      displayName: 'SSH Public Keys',
      name: 'sshKeys',
      type: 'string',
      typeOptions: { rows: 4 },
      default: '',
      placeholder: 'ssh-ed25519 AAAA… user@host',
      description: 'One OpenSSH public key per line. Encoded for Proxmox by the node (percent-encoding, then form encoding).',
    },
    {
      displayName: 'IP Configuration',
      name: 'ipConfig',
      type: 'fixedCollection',
      typeOptions: { multipleValues: true },
      default: {},
      placeholder: 'Add Interface',
      options: [
        {
          displayName: 'Interface',
          name: 'interface',
          values: [
            { displayName: 'Interface Index', name: 'index', type: 'number', typeOptions: { minValue: 0, maxValue: 31 }, default: 0, description: 'N of ipconfigN, matching netN' },
            { displayName: 'IPv4', name: 'ip', type: 'string', default: 'dhcp', placeholder: '10.0.0.5/24', description: 'dhcp, or an address with prefix length' },
            { displayName: 'IPv4 Gateway', name: 'gateway', type: 'string', default: '' },
            { displayName: 'IPv6', name: 'ip6', type: 'string', default: '', placeholder: 'auto' },
            { displayName: 'IPv6 Gateway', name: 'gateway6', type: 'string', default: '' },
          ],
        },
      ],
    },
    { displayName: 'DNS Server', name: 'nameserver', type: 'string', default: '' },
    { displayName: 'DNS Search Domain', name: 'searchdomain', type: 'string', default: '' },
    { displayName: 'Upgrade Packages on First Boot', name: 'ciupgrade', type: 'boolean', default: true },
  ];
}

export function otherParametersField(): INodeProperties {
  return {
    displayName: 'Other Parameters',
    name: 'otherParameters',
    type: 'fixedCollection',
    typeOptions: { multipleValues: true },
    default: {},
    placeholder: 'Add Parameter',
    description: 'Any other API parameter, e.g. net1 = virtio,bridge=vmbr1 or scsi1 = local-lvm:100',
    options: [
      {
        displayName: 'Parameter',
        name: 'parameter',
        values: [
          { displayName: 'Name', name: 'name', type: 'string', default: '' },
          { displayName: 'Value', name: 'value', type: 'string', default: '' },
        ],
      },
    ],
  };
}

const CONFIG_KEY = /^[a-z][a-z0-9_-]*$/i;

/** Config collection values → API parameters (booleans stay booleans: sent as 0/1). */
export function configParams(resource: GuestResource, fields: IDataObject, problems: string[]): ApiParams {
  const out: ApiParams = {};
  for (const [key, value] of Object.entries(fields)) {
    if (value === '' || value === undefined || value === null) continue;
    if (key === 'agent') out.agent = value === true ? '1' : '0';
    else if (key === 'memory' && resource === 'vm') out.memory = String(value);
    else out[key] = value as string | number | boolean;
  }
  for (const key of ['name', 'hostname']) {
    if (typeof out[key] === 'string' && !isDnsName(out[key] as string)) problems.push(`${key} "${out[key]}" must be a DNS name (letters, digits, '-', '.')`);
  }
  return out;
}

/** Cloud-init collection → ciuser, cipassword, sshkeys (percent-encoded), ipconfigN, … */
export function cloudInitParams(fields: IDataObject, problems: string[]): ApiParams {
  const out: ApiParams = {};
  for (const key of ['ciuser', 'cipassword', 'nameserver', 'searchdomain']) {
    if (typeof fields[key] === 'string' && fields[key] !== '') out[key] = fields[key] as string;
  }
  if (typeof fields.ciupgrade === 'boolean') out.ciupgrade = fields.ciupgrade;
  if (typeof fields.sshKeys === 'string' && fields.sshKeys.trim()) {
    problems.push(...sshKeyProblems(fields.sshKeys).map((p) => `SSH public keys: ${p}`));
    out.sshkeys = encodeSshKeys(fields.sshKeys);
  }
  const interfaces = ((fields.ipConfig as IDataObject | undefined)?.interface ?? []) as IDataObject[];
  for (const entry of interfaces) {
    const index = Number(entry.index ?? 0);
    const { value, problems: found } = ipConfigValue({
      ip: String(entry.ip ?? ''),
      gateway: String(entry.gateway ?? ''),
      ip6: String(entry.ip6 ?? ''),
      gateway6: String(entry.gateway6 ?? ''),
    });
    problems.push(...found.map((p) => `ipconfig${index}: ${p}`));
    if (value) out[`ipconfig${index}`] = value;
  }
  return out;
}

export function otherParams(value: IDataObject | undefined, problems: string[]): ApiParams {
  const out: ApiParams = {};
  for (const entry of ((value?.parameter ?? []) as IDataObject[])) {
    const name = String(entry.name ?? '').trim();
    if (!name) continue;
    if (!CONFIG_KEY.test(name)) problems.push(`"${name}" is not a parameter name`);
    out[name] = String(entry.value ?? '');
  }
  return out;
}

export function hasCloudInitKeys(params: ApiParams): boolean {
  return Object.keys(params).some((key) => /^(ci|sshkeys$|ipconfig\d|nameserver$|searchdomain$)/.test(key));
}
