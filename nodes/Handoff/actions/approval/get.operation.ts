// Approval → Get: GET /v1/approvals/:id (its creator's or the admin's token): the state, every
// decision, each approver's status and the approvers' links.

import { updateDisplayOptions } from 'n8n-workflow';
import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';
import { cortexRequest } from '../../../shared/cortex-transport.ts';
import { requiredString, segment } from '../common.ts';
import { approvalIdField, approvalResource } from './fields.ts';

export const description = updateDisplayOptions(approvalResource('get'), [approvalIdField]);

export async function execute(this: IExecuteFunctions, itemIndex: number): Promise<IDataObject> {
  const id = requiredString(this, 'approvalId', itemIndex, 'Approval ID');
  return await cortexRequest(this, { method: 'GET', path: `/v1/approvals/${segment(id)}`, itemIndex });
}
