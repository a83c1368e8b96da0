import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';
import type { Session } from '../session.ts';
import { forOperation, items, waitProperties } from '../common.ts';
import { runLifecycleAction } from './lifecycle.ts';

export const description: INodeProperties[] = [
  ...forOperation('machine', 'reboot', [
    {
      displayName: 'Reboot Mode',
      name: 'rebootMode',
      type: 'options',
      options: [
        { name: 'Default', value: 'DEFAULT' },
        { name: 'Power Cycle', value: 'POWERCYCLE', description: 'Skip kexec, do a full power cycle' },
      ],
      default: 'DEFAULT',
    },
  ]),
  ...waitProperties('machine', 'reboot'),
];

export async function execute(this: IExecuteFunctions, itemIndex: number, session: Session): Promise<INodeExecutionData[]> {
  const mode = this.getNodeParameter('rebootMode', itemIndex, 'DEFAULT') as string;
  const result = await runLifecycleAction(this, itemIndex, session, async (client, call) => {
    const [reply] = await client.unary('machine.MachineService', 'Reboot', { mode }, call);
    return { reply: reply ?? {}, actorId: String(reply?.actorId ?? '') };
  }, 'ready');
  return items(itemIndex, [result]);
}
