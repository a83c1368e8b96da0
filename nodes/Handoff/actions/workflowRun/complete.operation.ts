// Workflow Run → Complete Run: the run succeeded (no phase may be in progress; pending ones are skipped).

import { updateDisplayOptions } from 'n8n-workflow';
import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';
import { cortexRequest } from '../../../shared/cortex-transport.ts';
import { idempotencyHeaders, requiredString, segment } from '../common.ts';
import { runIdField, runResource } from './fields.ts';

export const description = updateDisplayOptions(runResource('complete'), [runIdField]);

export async function execute(this: IExecuteFunctions, itemIndex: number): Promise<IDataObject> {
  const runId = requiredString(this, 'runId', itemIndex, 'Run ID');
  return await cortexRequest(this, {
    method: 'POST',
    path: `/v1/runs/${segment(runId)}/complete`,
    body: {},
    headers: idempotencyHeaders(this, itemIndex),
    itemIndex,
  });
}
