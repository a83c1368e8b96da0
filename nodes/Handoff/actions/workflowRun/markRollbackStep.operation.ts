// Workflow Run → Mark Rollback Step: record that one step of the rollback plan is done or failed.

import { updateDisplayOptions } from 'n8n-workflow';
import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { cortexRequest } from '../../../shared/cortex-transport.ts';
import { idempotencyHeaders, optionalString, requiredString, segment } from '../common.ts';
import { runIdField, runResource } from './fields.ts';

const properties: INodeProperties[] = [
  runIdField,
  {
    displayName: 'Step ID',
    name: 'stepId',
    type: 'string',
    required: true,
    default: '',
    placeholder: 'e.g. provision-vms-rollback',
    description: 'The step_id from the rollback plan',
  },
  {
    displayName: 'Outcome',
    name: 'stepStatus',
    type: 'options',
    default: 'done',
    options: [
      { name: 'Done', value: 'done', description: 'The step was undone' },
      { name: 'Failed', value: 'failed', description: 'Undoing the step failed' },
    ],
    description: 'How the rollback step went',
  },
  {
    displayName: 'Note',
    name: 'note',
    type: 'string',
    default: '',
    description: 'Anything worth keeping, e.g. what was left behind',
  },
];

export const description = updateDisplayOptions(runResource('markRollbackStep'), properties);

export async function execute(this: IExecuteFunctions, itemIndex: number): Promise<IDataObject> {
  const runId = requiredString(this, 'runId', itemIndex, 'Run ID');
  const stepId = requiredString(this, 'stepId', itemIndex, 'Step ID');
  const note = optionalString(this.getNodeParameter('note', itemIndex, ''));
  return await cortexRequest(this, {
    method: 'POST',
    path: `/v1/runs/${segment(runId)}/rollback/steps/${segment(stepId)}`,
    body: { status: this.getNodeParameter('stepStatus', itemIndex, 'done') as string, ...(note ? { note } : {}) },
    headers: idempotencyHeaders(this, itemIndex),
    itemIndex,
  });
}
