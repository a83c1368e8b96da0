import type { INodeProperties } from 'n8n-workflow';
import type { Operation } from '../common.ts';
import * as applyConfiguration from './applyConfiguration.operation.ts';
import * as bootstrap from './bootstrap.operation.ts';
import * as health from './health.operation.ts';
import * as kubeconfig from './kubeconfig.operation.ts';
import * as reboot from './reboot.operation.ts';
import * as reset from './reset.operation.ts';
import * as shutdown from './shutdown.operation.ts';
import * as upgrade from './upgrade.operation.ts';
import * as version from './version.operation.ts';

export const operations: Record<string, Operation> = { applyConfiguration, bootstrap, health, kubeconfig, reboot, reset, shutdown, upgrade, version };

export const description: INodeProperties[] = [
  {
    displayName: 'Operation',
    name: 'operation',
    type: 'options',
    noDataExpression: true,
    displayOptions: { show: { resource: ['machine'] } },
    options: [
      { name: 'Apply Configuration', value: 'applyConfiguration', action: 'Apply a machine configuration', description: 'Apply a machine configuration (also to a node in maintenance mode)' },
      { name: 'Bootstrap', value: 'bootstrap', action: 'Bootstrap etcd on a control plane node', description: 'Once per cluster; safe to re-run' },
      { name: 'Cluster Health', value: 'health', action: 'Wait for the cluster to be healthy', description: 'Run the cluster health checks and report their progress' },
      { name: 'Get Kubeconfig', value: 'kubeconfig', action: 'Get the admin kubeconfig' },
      { name: 'Get Version', value: 'version', action: 'Get the Talos version' },
      { name: 'Reboot', value: 'reboot', action: 'Reboot a node and wait for it', description: 'Reboot and wait until the node is back with a new boot ID' },
      { name: 'Reset', value: 'reset', action: 'Reset a node', description: 'Wipe the node\'s configuration and data' },
      { name: 'Shutdown', value: 'shutdown', action: 'Shut a node down' },
      { name: 'Upgrade', value: 'upgrade', action: 'Upgrade Talos on a node and wait for it', description: 'Upgrade to an installer image and wait until the node is back' },
    ],
    default: 'version',
  },
  ...Object.values(operations).flatMap((operation) => operation.description),
];
