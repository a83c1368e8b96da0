import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';
import type { Session } from '../session.ts';
import { forOperation, items } from '../common.ts';

export const description: INodeProperties[] = forOperation('service', 'restart', [
  { displayName: 'Service ID', name: 'serviceId', type: 'string', default: 'kubelet', required: true, placeholder: 'kubelet' },
]);

export async function execute(this: IExecuteFunctions, itemIndex: number, session: Session): Promise<INodeExecutionData[]> {
  const id = String(this.getNodeParameter('serviceId', itemIndex)).trim();
  const { client, call } = await session.talos(itemIndex);
  const [reply] = await client.unary('machine.MachineService', 'ServiceRestart', { id }, call);
  return items(itemIndex, [{ hostname: reply?.metadata?.hostname ?? '', id, response: reply?.resp ?? '' }]);
}
