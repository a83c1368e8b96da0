// Metrics → Contractor Performance: the seed's contractor-performance.json shape for one contractor.

import { updateDisplayOptions } from 'n8n-workflow';
import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { cortexRequest } from '../../../shared/cortex-transport.ts';
import { requiredString, segment } from '../common.ts';

const properties: INodeProperties[] = [
  {
    displayName: 'Contractor',
    name: 'contractor',
    type: 'string',
    required: true,
    default: '',
    placeholder: 'e.g. talos-contractor',
    description: 'The contractor\'s name',
  },
];

export const description = updateDisplayOptions({ show: { resource: ['metrics'], operation: ['contractorPerformance'] } }, properties);

export async function execute(this: IExecuteFunctions, itemIndex: number): Promise<IDataObject> {
  const contractor = requiredString(this, 'contractor', itemIndex, 'Contractor');
  return await cortexRequest(this, { method: 'GET', path: `/v1/metrics/contractors/${segment(contractor)}`, itemIndex });
}
