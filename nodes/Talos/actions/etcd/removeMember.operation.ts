import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';
import type { Session } from '../session.ts';
import { forOperation, items } from '../common.ts';
import { ParameterError } from '../errors.ts';

export const description: INodeProperties[] = forOperation('etcd', 'removeMember', [
  {
    displayName: 'Member ID',
    name: 'memberId',
    type: 'string',
    default: '',
    required: true,
    description: 'Decimal (as List Members returns it) or hexadecimal (as etcdctl prints it) member ID of a member whose node is gone',
  },
]);

export function parseMemberId(value: string): string {
  const text = value.trim();
  try {
    if (/^[0-9]+$/.test(text)) return BigInt.asUintN(64, BigInt(text)).toString();
    if (/^(0x)?[0-9a-f]+$/i.test(text)) return BigInt(text.startsWith('0x') ? text : `0x${text}`).toString();
  } catch {
    // fall through
  }
  throw new ParameterError(`Member ID "${value}" is not a decimal or hexadecimal etcd member ID`);
}

export async function execute(this: IExecuteFunctions, itemIndex: number, session: Session): Promise<INodeExecutionData[]> {
  const memberId = parseMemberId(String(this.getNodeParameter('memberId', itemIndex)));
  const { client, call } = await session.talos(itemIndex);
  const [reply] = await client.unary('machine.MachineService', 'EtcdRemoveMemberByID', { memberId }, call);
  return items(itemIndex, [{ removed: true, memberId, hostname: reply?.metadata?.hostname ?? '' }]);
}
