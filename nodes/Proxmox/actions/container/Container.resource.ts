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
};

export const description: INodeProperties[] = [
  {
    displayName: 'Operation',
    name: 'operation',
    type: 'options',
    noDataExpression: true,
    displayOptions: { show: { resource: ['container'] } },
    options: [
      { name: 'Clone', value: 'clone', action: 'Clone a container', description: 'Clone a template or container (full or linked)' },
      { name: 'Create', value: 'create', action: 'Create a container', description: 'Create a container from an OS template with the next free or a given VMID' },
      { name: 'Create Snapshot', value: 'createSnapshot', action: 'Create a container snapshot' },
      { name: 'Delete', value: 'delete', action: 'Delete a container', description: 'Destroy a container and its volumes (purge)' },
      { name: 'Delete Snapshot', value: 'deleteSnapshot', action: 'Delete a container snapshot' },
      { name: 'Get Config', value: 'getConfig', action: 'Get container config', description: 'Configuration with its digest' },
      { name: 'Get Status', value: 'getStatus', action: 'Get container status', description: 'Run state, uptime, CPU and memory use' },
      { name: 'List', value: 'list', action: 'List containers', description: 'Containers of a node or of the whole cluster' },
      { name: 'List Snapshots', value: 'listSnapshots', action: 'List container snapshots' },
      { name: 'Migrate', value: 'migrate', action: 'Migrate a container', description: 'Move a container to another node' },
      { name: 'Reboot', value: 'reboot', action: 'Reboot a container', description: 'Reboot a running container' },
      { name: 'Resize Disk', value: 'resize', action: 'Resize a container disk', description: 'Grow rootfs or a mount point' },
      { name: 'Rollback Snapshot', value: 'rollbackSnapshot', action: 'Roll back a container to a snapshot' },
      { name: 'Shutdown', value: 'shutdown', action: 'Shut down a container', description: 'Shut a container down cleanly' },
      { name: 'Start', value: 'start', action: 'Start a container', description: 'Start a container' },
      { name: 'Stop', value: 'stop', action: 'Stop a container', description: 'Stop a container at once' },
      { name: 'Update Config', value: 'updateConfig', action: 'Update container config', description: 'Change settings' },
    ],
    default: 'list',
  },
  ...Object.values(operations).flatMap((op) => op.description),
];
