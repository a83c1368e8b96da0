import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';
import type { Session } from '../session.ts';
import { forOperation, items, waitProperties } from '../common.ts';
import { runLifecycleAction } from './lifecycle.ts';

export const description: INodeProperties[] = [
  ...forOperation('machine', 'shutdown', [
    {
      displayName: 'Force',
      name: 'force',
      type: 'boolean',
      default: false,
      description: 'Whether to skip cordoning and draining the Kubernetes node',
    },
  ]),
  ...waitProperties('machine', 'shutdown', 300, 'Whether to wait until the node has powered off: events of the action, then the node no longer answers'),
];

/** Waits (optionally) until the node stops answering. */
export async function execute(this: IExecuteFunctions, itemIndex: number, session: Session): Promise<INodeExecutionData[]> {
  const force = this.getNodeParameter('force', itemIndex, false) as boolean;
  const result = await runLifecycleAction(this, itemIndex, session, async (client, call) => {
    const [reply] = await client.unary('machine.MachineService', 'Shutdown', { force }, call);
    return { reply: reply ?? {}, actorId: String(reply?.actorId ?? '') };
  }, 'off');
  return items(itemIndex, [result]);
}
