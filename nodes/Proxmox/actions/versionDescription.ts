import { NodeConnectionTypes } from 'n8n-workflow';
import type { INodeTypeDescription } from 'n8n-workflow';
import * as cluster from './cluster/Cluster.resource.ts';
import * as container from './container/Container.resource.ts';
import * as storage from './storage/Storage.resource.ts';
import * as task from './task/Task.resource.ts';
import * as vm from './vm/Vm.resource.ts';

/** The node's description; icon, subtitle and usableAsTool are set in Proxmox.node.ts (where n8n's lint rules look). */
export const versionDescription: Omit<INodeTypeDescription, 'icon'> = {
  displayName: 'Proxmox',
  name: 'proxmox',
  group: ['transform'],
  version: 1,
  description: 'Manage Proxmox VE virtual machines, containers, storage and tasks: clones that survive lock contention, cloud-init, task waiting',
  defaults: { name: 'Proxmox' },
  inputs: [NodeConnectionTypes.Main],
  outputs: [NodeConnectionTypes.Main],
  credentials: [{ name: 'proxmoxApi', required: true }],
  properties: [
    {
      displayName: 'Resource',
      name: 'resource',
      type: 'options',
      noDataExpression: true,
      options: [
        { name: 'Cluster', value: 'cluster' },
        { name: 'Container (LXC)', value: 'container' },
        { name: 'Storage', value: 'storage' },
        { name: 'Task', value: 'task' },
        { name: 'VM (QEMU)', value: 'vm' },
      ],
      default: 'vm',
    },
    ...vm.description,
    ...container.description,
    ...cluster.description,
    ...storage.description,
    ...task.description,
  ],
};
