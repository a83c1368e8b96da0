// Metrics → Workflow Stats: the seed's workflow-stats.json shape for one workflow.

import { updateDisplayOptions } from 'n8n-workflow';
import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { cortexRequest } from '../../../shared/cortex-transport.ts';
import { requiredString, segment } from '../common.ts';

const properties: INodeProperties[] = [
  {
    displayName: 'Workflow ID',
    name: 'workflowId',
    type: 'string',
    required: true,
    default: '',
    placeholder: 'e.g. build-k8s-cluster',
    description: 'The workflow_id of the definition',
  },
];

export const description = updateDisplayOptions({ show: { resource: ['metrics'], operation: ['workflowStats'] } }, properties);

export async function execute(this: IExecuteFunctions, itemIndex: number): Promise<IDataObject> {
  const id = requiredString(this, 'workflowId', itemIndex, 'Workflow ID');
  return await cortexRequest(this, { method: 'GET', path: `/v1/metrics/workflows/${segment(id)}`, itemIndex });
}
