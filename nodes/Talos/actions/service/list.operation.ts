import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';
import type { Session } from '../session.ts';
import { items } from '../common.ts';

export const description: INodeProperties[] = [];

/** One item per service: id, state, health. */
export async function execute(this: IExecuteFunctions, itemIndex: number, session: Session): Promise<INodeExecutionData[]> {
  const { client, call } = await session.talos(itemIndex);
  const messages = await client.unary('machine.MachineService', 'ServiceList', {}, call);
  return items(
    itemIndex,
    messages.flatMap((m) =>
      (m.services ?? []).map((s: Record<string, any>) => ({
        hostname: m.metadata?.hostname ?? '',
        id: s.id,
        state: s.state,
        healthy: s.health?.healthy === true,
        healthUnknown: s.health?.unknown === true,
        lastMessage: s.health?.lastMessage ?? '',
      })),
    ),
  );
}
