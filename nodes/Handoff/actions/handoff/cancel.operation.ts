// Handoff → Cancel: the sender withdraws a handoff; it fails with code handoff_cancelled.

import { updateDisplayOptions } from 'n8n-workflow';
import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { cortexRequest } from '../../../shared/cortex-transport.ts';
import { idempotencyHeaders, optionalString, requiredString, segment } from '../common.ts';
import { handoffIdField, handoffResource } from './fields.ts';

const properties: INodeProperties[] = [
  handoffIdField,
  {
    displayName: 'Reason',
    name: 'reason',
    type: 'string',
    default: '',
    description: 'Why it is cancelled; becomes the error message',
  },
];

export const description = updateDisplayOptions(handoffResource('cancel'), properties);

export async function execute(this: IExecuteFunctions, itemIndex: number): Promise<IDataObject> {
  const id = requiredString(this, 'handoffId', itemIndex, 'Handoff ID');
  const reason = optionalString(this.getNodeParameter('reason', itemIndex, ''));
  return await cortexRequest(this, {
    method: 'POST',
    path: `/v1/handoffs/${segment(id)}/cancel`,
    body: reason ? { reason } : {},
    headers: idempotencyHeaders(this, itemIndex),
    itemIndex,
  });
}
