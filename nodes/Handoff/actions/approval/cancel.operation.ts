// Approval → Cancel: its creator (or the admin) withdraws a pending approval. It ends as
// cancelled, with the reason; an Approval Gate waiting on it continues on Rejected.

import { updateDisplayOptions } from 'n8n-workflow';
import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { cortexRequest } from '../../../shared/cortex-transport.ts';
import { idempotencyHeaders, optionalString, requiredString, segment } from '../common.ts';
import { approvalIdField, approvalResource } from './fields.ts';

const properties: INodeProperties[] = [
  approvalIdField,
  {
    displayName: 'Reason',
    name: 'reason',
    type: 'string',
    default: '',
    description: 'Why it is withdrawn (at most 2000 characters); shown on the approval page and in the Approval Gate\'s item',
  },
];

export const description = updateDisplayOptions(approvalResource('cancel'), properties);

export async function execute(this: IExecuteFunctions, itemIndex: number): Promise<IDataObject> {
  const id = requiredString(this, 'approvalId', itemIndex, 'Approval ID');
  const reason = optionalString(this.getNodeParameter('reason', itemIndex, ''));
  return await cortexRequest(this, {
    method: 'POST',
    path: `/v1/approvals/${segment(id)}/cancel`,
    body: reason ? { reason } : {},
    headers: idempotencyHeaders(this, itemIndex),
    itemIndex,
  });
}
