// Workflow Run → Fail Run: the run failed; with Roll Back (default) it gets a rollback plan.

import { updateDisplayOptions } from 'n8n-workflow';
import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { cortexRequest } from '../../../shared/cortex-transport.ts';
import { errorFields, errorInfo, idempotencyHeaders, requiredString, segment } from '../common.ts';
import { runIdField, runResource } from './fields.ts';

const properties: INodeProperties[] = [
  runIdField,
  ...errorFields,
  {
    displayName: 'Roll Back',
    name: 'rollback',
    type: 'boolean',
    default: true,
    description: 'Whether to produce a rollback plan: the started phases to undo, in order (see Get Rollback Plan)',
  },
];

export const description = updateDisplayOptions(runResource('fail'), properties);

export async function execute(this: IExecuteFunctions, itemIndex: number): Promise<IDataObject> {
  const runId = requiredString(this, 'runId', itemIndex, 'Run ID');
  return await cortexRequest(this, {
    method: 'POST',
    path: `/v1/runs/${segment(runId)}/fail`,
    body: { error: errorInfo(this, itemIndex), rollback: this.getNodeParameter('rollback', itemIndex, true) as boolean },
    headers: idempotencyHeaders(this, itemIndex),
    itemIndex,
  });
}
