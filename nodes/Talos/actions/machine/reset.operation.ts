import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';
import type { Session } from '../session.ts';
import { forOperation, items, waitProperties } from '../common.ts';
import { runLifecycleAction } from './lifecycle.ts';

export const description: INodeProperties[] = [
  ...forOperation('machine', 'reset', [
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
  ]),
  ...waitProperties(
    'machine',
    'reset',
    600,
    'Whether to wait until the node is reset: with Reboot, until it is back in maintenance mode (answering the insecure maintenance API at its own address); without, until it has powered off',
  ),
];

/**
 * Resets the node (it loses its configuration and leaves etcd). Waits (optionally) until it is
 * back in maintenance mode (Reboot on) or powered off (Reboot off); otherwise returns the actor id.
 */
export async function execute(this: IExecuteFunctions, itemIndex: number, session: Session): Promise<INodeExecutionData[]> {
  const request = {
    graceful: this.getNodeParameter('graceful', itemIndex, true) as boolean,
    reboot: this.getNodeParameter('reboot', itemIndex, false) as boolean,
    mode: this.getNodeParameter('wipeMode', itemIndex, 'ALL') as string,
  };
  const result = await runLifecycleAction(this, itemIndex, session, async (client, call) => {
    const [reply] = await client.unary('machine.MachineService', 'Reset', request, call);
    return { reply: reply ?? {}, actorId: String(reply?.actorId ?? '') };
  }, request.reboot ? 'maintenance' : 'off');
  return items(itemIndex, [{ ...result, ...request }]);
}
