// Handoff → Get: GET /v1/handoffs/:id.

import { updateDisplayOptions } from 'n8n-workflow';
import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';
import { cortexRequest } from '../../../shared/cortex-transport.ts';
import { requiredString, segment } from '../common.ts';
import { handoffIdField, handoffResource } from './fields.ts';

export const description = updateDisplayOptions(handoffResource('get'), [handoffIdField]);

export async function execute(this: IExecuteFunctions, itemIndex: number): Promise<IDataObject> {
  const id = requiredString(this, 'handoffId', itemIndex, 'Handoff ID');
  return await cortexRequest(this, { method: 'GET', path: `/v1/handoffs/${segment(id)}`, itemIndex });
}
