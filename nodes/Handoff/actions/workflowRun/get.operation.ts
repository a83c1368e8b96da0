// Workflow Run → Get: GET /v1/runs/:id (phases, actions, error, rollback plan).

import { updateDisplayOptions } from 'n8n-workflow';
import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';
import { cortexRequest } from '../../../shared/cortex-transport.ts';
import { requiredString, segment } from '../common.ts';
import { runIdField, runResource } from './fields.ts';

export const description = updateDisplayOptions(runResource('get'), [runIdField]);

export async function execute(this: IExecuteFunctions, itemIndex: number): Promise<IDataObject> {
  const id = requiredString(this, 'runId', itemIndex, 'Run ID');
  return await cortexRequest(this, { method: 'GET', path: `/v1/runs/${segment(id)}`, itemIndex });
}
