import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';
import type { Session } from '../session.ts';
import { items } from '../common.ts';

export const description: INodeProperties[] = [];

export async function execute(this: IExecuteFunctions, itemIndex: number, session: Session): Promise<INodeExecutionData[]> {
  const { client, call, resolved } = await session.talos(itemIndex);
  const messages = await client.unary('machine.MachineService', 'Version', {}, call);
  return items(
    itemIndex,
    messages.map((m) => ({
      node: call.node ?? client.endpoint,
      hostname: m.metadata?.hostname ?? '',
      ...(m.version ?? {}),
      platform: m.platform?.name ?? '',
      platformMode: m.platform?.mode ?? '',
      rbac: m.features?.rbac === true,
      maintenance: resolved.insecure === true,
    })),
  );
}
