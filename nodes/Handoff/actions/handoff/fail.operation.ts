// Handoff → Fail: the receiver gives up on a handoff with an error code and message.

import { updateDisplayOptions } from 'n8n-workflow';
import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';
import { cortexRequest } from '../../../shared/cortex-transport.ts';
import { errorFields, errorInfo, idempotencyHeaders, requiredString, segment } from '../common.ts';
import { handoffIdField, handoffResource } from './fields.ts';

export const description = updateDisplayOptions(handoffResource('fail'), [handoffIdField, ...errorFields]);

export async function execute(this: IExecuteFunctions, itemIndex: number): Promise<IDataObject> {
  const id = requiredString(this, 'handoffId', itemIndex, 'Handoff ID');
  return await cortexRequest(this, {
    method: 'POST',
    path: `/v1/handoffs/${segment(id)}/fail`,
    body: { error: errorInfo(this, itemIndex) },
    headers: idempotencyHeaders(this, itemIndex),
    itemIndex,
  });
}
