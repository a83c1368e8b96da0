import type { INodeProperties } from 'n8n-workflow';
import type { Operation } from '../shared.ts';
import * as clone from './clone.operation.ts';
import * as create from './create.operation.ts';
import * as createSnapshot from './createSnapshot.operation.ts';
import * as deleteOp from './delete.operation.ts';
import * as deleteSnapshot from './deleteSnapshot.operation.ts';
import * as getConfig from './getConfig.operation.ts';
import * as getStatus from './getStatus.operation.ts';
import * as list from './list.operation.ts';
import * as listSnapshots from './listSnapshots.operation.ts';
import * as migrate from './migrate.operation.ts';
import * as reboot from './reboot.operation.ts';
import * as regenerateCloudInit from './regenerateCloudInit.operation.ts';
import * as resize from './resize.operation.ts';
import * as rollbackSnapshot from './rollbackSnapshot.operation.ts';
import * as shutdown from './shutdown.operation.ts';
import * as start from './start.operation.ts';
import * as stop from './stop.operation.ts';
import * as updateConfig from './updateConfig.operation.ts';

/** In the order their fields appear in the node's description. */
export const operations: Record<string, Operation> = {
  list,
  getStatus,
  getConfig,
  updateConfig,
  create,
  clone,
  start,
  stop,
  shutdown,
  reboot,
  delete: deleteOp,
  resize,
  createSnapshot,
  listSnapshots,
  rollbackSnapshot,
  deleteSnapshot,
  migrate,
  regenerateCloudInit,
};

export const description: INodeProperties[] = [
  {
    displayName: 'Operation',
    name: 'operation',
    type: 'options',
    noDataExpression: true,
    displayOptions: { show: { resource: ['vm'] } },
    options: [
      { name: 'Clone', value: 'clone', action: 'Clone a VM', description: 'Clone a template or VM (full or linked), optionally with cloud-init and start' },
      { name: 'Create', value: 'create', action: 'Create a VM', description: 'Create a VM with the next free or a given VMID' },
      { name: 'Create Snapshot', value: 'createSnapshot', action: 'Create a VM snapshot' },
      { name: 'Delete', value: 'delete', action: 'Delete a VM', description: 'Destroy a VM and its disks (purge)' },
      { name: 'Delete Snapshot', value: 'deleteSnapshot', action: 'Delete a VM snapshot' },
      { name: 'Get Config', value: 'getConfig', action: 'Get VM config', description: 'Configuration with its digest' },
      { name: 'Get Status', value: 'getStatus', action: 'Get VM status', description: 'Run state, uptime, CPU and memory use' },
      { name: 'List', value: 'list', action: 'List VMs', description: 'VMs of a node or of the whole cluster' },
      { name: 'List Snapshots', value: 'listSnapshots', action: 'List VM snapshots' },
      { name: 'Migrate', value: 'migrate', action: 'Migrate a VM', description: 'Move a VM to another node' },
      { name: 'Reboot', value: 'reboot', action: 'Reboot a VM', description: 'Reboot a running VM' },
      { name: 'Regenerate Cloud-Init Drive', value: 'regenerateCloudInit', action: 'Regenerate a VM cloud-init drive', description: 'Rebuild the cloud-init drive from the current settings' },
      { name: 'Resize Disk', value: 'resize', action: 'Resize a VM disk', description: 'Grow a disk' },
      { name: 'Rollback Snapshot', value: 'rollbackSnapshot', action: 'Roll back a VM to a snapshot' },
      { name: 'Shutdown', value: 'shutdown', action: 'Shut down a VM', description: 'Ask the guest OS to shut down' },
      { name: 'Start', value: 'start', action: 'Start a VM', description: 'Start a VM' },
      { name: 'Stop', value: 'stop', action: 'Stop a VM', description: 'Stop a VM at once (like pulling the plug)' },
      { name: 'Update Config', value: 'updateConfig', action: 'Update VM config', description: 'Change settings and cloud-init (regenerating the drive)' },
    ],
    default: 'list',
  },
  ...Object.values(operations).flatMap((op) => op.description),
];
