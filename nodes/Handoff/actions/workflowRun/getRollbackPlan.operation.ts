// Workflow Run → Get Rollback Plan: the steps that undo a failed run, in the order to run them.

import { updateDisplayOptions } from 'n8n-workflow';
import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';
import { cortexRequest } from '../../../shared/cortex-transport.ts';
import { requiredString, segment } from '../common.ts';
import { runIdField, runResource } from './fields.ts';

export const description = updateDisplayOptions(runResource('getRollbackPlan'), [runIdField]);

export async function execute(this: IExecuteFunctions, itemIndex: number): Promise<IDataObject> {
  const runId = requiredString(this, 'runId', itemIndex, 'Run ID');
  return await cortexRequest(this, { method: 'GET', path: `/v1/runs/${segment(runId)}/rollback`, itemIndex });
}
