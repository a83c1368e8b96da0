// Handoff → Claim: the receiving contractor takes a pending handoff (pending → in_progress).

import { updateDisplayOptions } from 'n8n-workflow';
import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';
import { cortexRequest } from '../../../shared/cortex-transport.ts';
import { idempotencyHeaders, requiredString, segment } from '../common.ts';
import { handoffIdField, handoffResource } from './fields.ts';

export const description = updateDisplayOptions(handoffResource('claim'), [handoffIdField]);

export async function execute(this: IExecuteFunctions, itemIndex: number): Promise<IDataObject> {
  const id = requiredString(this, 'handoffId', itemIndex, 'Handoff ID');
  return await cortexRequest(this, {
    method: 'POST',
    path: `/v1/handoffs/${segment(id)}/claim`,
    body: {},
    headers: idempotencyHeaders(this, itemIndex),
    itemIndex,
  });
}
