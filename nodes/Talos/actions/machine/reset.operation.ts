import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';
import type { Session } from '../session.ts';
import { forOperation, items } from '../common.ts';

export const description: INodeProperties[] = forOperation('machine', 'reset', [
  { displayName: 'Graceful', name: 'graceful', type: 'boolean', default: true, description: 'Whether to leave etcd and drain the node first' },
  { displayName: 'Reboot', name: 'reboot', type: 'boolean', default: false, description: 'Whether to reboot (into maintenance mode) instead of powering off after the reset' },
  {
    displayName: 'Wipe Mode',
    name: 'wipeMode',
    type: 'options',
    options: [
      { name: 'All', value: 'ALL' },
      { name: 'System Disk', value: 'SYSTEM_DISK' },
      { name: 'User Disks', value: 'USER_DISKS' },
    ],
    default: 'ALL',
  },
]);

/** Resets the node (it loses its configuration); returns the action's actor id. */
export async function execute(this: IExecuteFunctions, itemIndex: number, session: Session): Promise<INodeExecutionData[]> {
  const { client, call } = await session.talos(itemIndex);
  const request = {
    graceful: this.getNodeParameter('graceful', itemIndex, true) as boolean,
    reboot: this.getNodeParameter('reboot', itemIndex, false) as boolean,
    mode: this.getNodeParameter('wipeMode', itemIndex, 'ALL') as string,
  };
  const [reply] = await client.unary('machine.MachineService', 'Reset', request, call);
  return items(itemIndex, [{ node: call.node ?? client.endpoint, hostname: reply?.metadata?.hostname ?? '', actorId: reply?.actorId ?? '', ...request }]);
}
