// Handoff → Get Many: GET /v1/handoffs with filters, following the cursor (cortexList).

import { updateDisplayOptions } from 'n8n-workflow';
import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { cortexList } from '../../../shared/cortex-transport.ts';
import { listLimit, returnAllProperties, stringFields } from '../common.ts';
import { handoffResource } from './fields.ts';

const properties: INodeProperties[] = [
  ...returnAllProperties,
  {
    displayName: 'Filters',
    name: 'filters',
    type: 'collection',
    placeholder: 'Add Filter',
    default: {},
    options: [
      { displayName: 'From Contractor', name: 'fromContractor', type: 'string', default: '', description: 'Only handoffs sent by this contractor' },
      { displayName: 'Run ID', name: 'runId', type: 'string', default: '', description: 'Only handoffs of this workflow run' },
      {
        displayName: 'Status',
        name: 'status',
        type: 'options',
        default: 'pending',
        options: [
          { name: 'Completed', value: 'completed' },
          { name: 'Failed', value: 'failed' },
          { name: 'In Progress', value: 'in_progress' },
          { name: 'Pending', value: 'pending' },
        ],
        description: 'Only handoffs in this status',
      },
      { displayName: 'Task ID', name: 'taskId', type: 'string', default: '', description: 'Only handoffs for this task' },
      { displayName: 'To Contractor', name: 'toContractor', type: 'string', default: '', description: 'Only handoffs addressed to this contractor' },
    ],
  },
];

export const description = updateDisplayOptions(handoffResource('getAll'), properties);

export async function execute(this: IExecuteFunctions, itemIndex: number): Promise<IDataObject[]> {
  const limit = listLimit(this, itemIndex);
  const filters = this.getNodeParameter('filters', itemIndex, {}) as IDataObject;
  const qs = stringFields(filters, [
    ['toContractor', 'to_contractor'],
    ['fromContractor', 'from_contractor'],
    ['status', 'status'],
    ['taskId', 'task_id'],
    ['runId', 'run_id'],
  ]);
  return await cortexList(this, '/v1/handoffs', qs, limit, itemIndex);
}
