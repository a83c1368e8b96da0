import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';
import type { Session } from '../session.ts';
import { forOperation, items } from '../common.ts';
import { nodeSummary } from './nodeCommon.ts';

export const description: INodeProperties[] = forOperation('kubernetes', 'getNodes', [
  { displayName: 'Label Selector', name: 'labelSelector', type: 'string', default: '', placeholder: 'node-role.kubernetes.io/control-plane=' },
]);

export async function execute(this: IExecuteFunctions, itemIndex: number, session: Session): Promise<INodeExecutionData[]> {
  const kube = await session.kubernetes(itemIndex);
  const labelSelector = (this.getNodeParameter('labelSelector', itemIndex, '') as string).trim();
  const nodes = await kube.list('v1', 'Node', undefined, labelSelector ? { labelSelector } : {});
  return items(itemIndex, nodes.map(nodeSummary));
}
