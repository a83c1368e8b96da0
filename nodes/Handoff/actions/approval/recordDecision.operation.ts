// Approval → Record Decision: POST /v1/approvals/:id/decisions with the admin token records a
// named approver's approve / reject (chat buttons → n8n webhook → this operation). The service
// applies the same rules as on the approval page: only its approvers, one decision each, nothing
// once the outcome is settled or the deadline has passed. The output is the approval after the
// decision, without the approvers' links; an Approval Gate waiting on it resumes once it is settled.

import { NodeApiError, NodeOperationError, updateDisplayOptions } from 'n8n-workflow';
import type { IDataObject, IExecuteFunctions, INodeProperties, JsonObject } from 'n8n-workflow';
import { cortexRequest } from '../../../shared/cortex-transport.ts';
import { idempotencyHeaders, idempotencyKeyOption, optionalString, requiredString, segment } from '../common.ts';
import { approvalIdField, approvalResource } from './fields.ts';

type Decision = 'approve' | 'reject';

const properties: INodeProperties[] = [
  approvalIdField,
  {
    displayName: 'Approver',
    name: 'approver',
    type: 'string',
    required: true,
    default: '',
    placeholder: 'e.g. alice@example.com',
    description:
      'The identity deciding, as the approval lists it (one identity, not a group), e.g. mapped from the chat user who pressed the button. The service refuses anyone who is not an approver.',
  },
  {
    displayName: 'Decision',
    name: 'decision',
    type: 'options',
    default: 'approve',
    options: [
      { name: 'Approve', value: 'approve' },
      { name: 'Reject', value: 'reject' },
    ],
    description: 'The approver\'s decision; an expression may give "approve" or "reject" (e.g. the chat button\'s value)',
  },
  {
    displayName: 'Comment',
    name: 'comment',
    type: 'string',
    default: '',
    description: 'Optional comment (at most 2000 characters); shown with the decision on the approval page and in the Approval Gate\'s item',
  },
  {
    displayName: 'Options',
    name: 'options',
    type: 'collection',
    placeholder: 'Add Option',
    default: {},
    options: [
      {
        ...idempotencyKeyOption,
        description:
          'Sending the same key again returns the first answer instead of deciding again, e.g. the chat platform\'s action ID, so a redelivered button press replays. Empty: a key unique to this execution, node run and item, so n8n retries never decide twice.',
      },
    ],
  },
];

export const description = updateDisplayOptions(approvalResource('recordDecision'), properties);

/** "approve" or "reject", also from an expression (case and spaces ignored). */
function decisionOf(context: IExecuteFunctions, itemIndex: number): Decision {
  const value = optionalString(context.getNodeParameter('decision', itemIndex, 'approve'))?.toLowerCase();
  if (value === 'approve' || value === 'reject') return value;
  throw new NodeOperationError(context.getNode(), 'Decision must be "approve" or "reject"', {
    itemIndex,
    description: `Item ${itemIndex}: got ${value === undefined ? 'nothing' : `"${value}"`}.`,
  });
}

export async function execute(this: IExecuteFunctions, itemIndex: number): Promise<IDataObject> {
  const id = requiredString(this, 'approvalId', itemIndex, 'Approval ID');
  const approver = requiredString(this, 'approver', itemIndex, 'Approver');
  if (approver.startsWith('group:')) {
    throw new NodeOperationError(this.getNode(), 'Approver must be one identity, not a group', {
      itemIndex,
      description: `Item ${itemIndex}: got "${approver}". A decision is one person's; give the member of the group who decided.`,
    });
  }
  const decision = decisionOf(this, itemIndex);
  const comment = optionalString(this.getNodeParameter('comment', itemIndex, ''));
  const options = this.getNodeParameter('options', itemIndex, {}) as IDataObject;
  let approval: IDataObject;
  try {
    approval = await cortexRequest(this, {
      method: 'POST',
      path: `/v1/approvals/${segment(id)}/decisions`,
      body: { approver, decision, ...(comment ? { comment } : {}) },
      headers: idempotencyHeaders(this, itemIndex, options.idempotencyKey as string | undefined),
      itemIndex,
    });
  } catch (error) {
    if (!(error instanceof NodeApiError)) throw new NodeOperationError(this.getNode(), error as Error, { itemIndex });
    // The service's 403 for a token that is not the admin's (not an approver is 403 not_an_approver).
    if (error.httpCode === '403' && error.description === 'forbidden') {
      error.description = 'Record Decision needs the admin token in the Cortex credential; a contractor token may not decide for an approver.';
    }
    // Hands back the same error (with the service's message, HTTP status and item index).
    throw new NodeApiError(this.getNode(), error as unknown as JsonObject);
  }
  // The approvers' links are secrets (each decides for its approver); Get returns them.
  const result = { ...approval };
  delete result.links;
  return result;
}
