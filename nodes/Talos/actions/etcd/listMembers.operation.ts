import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';
import type { Session } from '../session.ts';
import { items } from '../common.ts';

export const description: INodeProperties[] = [];

/** One item per etcd member (ids are decimal strings: uint64 does not fit a JSON number). */
export async function execute(this: IExecuteFunctions, itemIndex: number, session: Session): Promise<INodeExecutionData[]> {
  const { client, call } = await session.talos(itemIndex);
  const messages = await client.unary('machine.MachineService', 'EtcdMemberList', { queryLocal: false }, call);
  const members = messages.flatMap((m) => (m.members ?? []).map((member: Record<string, unknown>) => ({ ...member, reportedBy: m.metadata?.hostname ?? '' })));
  return items(itemIndex, members);
}
