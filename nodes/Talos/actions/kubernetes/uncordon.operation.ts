import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';
import type { Session } from '../session.ts';
import { forOperation, items } from '../common.ts';
import { nodeSummary, setUnschedulable } from './nodeCommon.ts';

export const description: INodeProperties[] = forOperation('kubernetes', 'uncordon', [
  { displayName: 'Kubernetes Node', name: 'nodeName', type: 'string', default: '', required: true },
  { displayName: 'Dry Run', name: 'dryRun', type: 'boolean', default: false },
]);

export async function execute(this: IExecuteFunctions, itemIndex: number, session: Session): Promise<INodeExecutionData[]> {
  const kube = await session.kubernetes(itemIndex);
  const node = await setUnschedulable(kube, this.getNodeParameter('nodeName', itemIndex) as string, false, this.getNodeParameter('dryRun', itemIndex, false) as boolean);
  return items(itemIndex, [nodeSummary(node)]);
}
