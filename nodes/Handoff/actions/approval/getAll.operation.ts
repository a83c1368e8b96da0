// Approval → Get Many: GET /v1/approvals with filters, following the cursor (cortexList). The
// admin's token lists every approval, a contractor's the ones it created.

import { NodeOperationError, updateDisplayOptions } from 'n8n-workflow';
import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { cortexList } from '../../../shared/cortex-transport.ts';
import { listLimit, returnAllProperties, stringFields } from '../common.ts';
import { approvalResource } from './fields.ts';

const properties: INodeProperties[] = [
  ...returnAllProperties,
  {
    displayName: 'Filters',
    name: 'filters',
    type: 'collection',
    placeholder: 'Add Filter',
    default: {},
    options: [
      {
        displayName: 'Approver',
        name: 'approver',
        type: 'string',
        default: '',
        placeholder: 'e.g. alice@example.com',
        description: 'Only approvals this identity may decide (groups count as expanded when the approval was created)',
      },
      {
        displayName: 'Created By',
        name: 'createdBy',
        type: 'string',
        default: '',
        description: 'Only approvals created with this token name (a contractor token sees only its own)',
      },
      {
        displayName: 'Status',
        name: 'status',
        type: 'options',
        default: 'pending',
        options: [
          { name: 'Approved', value: 'approved' },
          { name: 'Cancelled', value: 'cancelled' },
          { name: 'Pending', value: 'pending' },
          { name: 'Rejected', value: 'rejected' },
          { name: 'Timed Out', value: 'timed_out' },
        ],
        description: 'Only approvals in this status',
      },
    ],
  },
];

export const description = updateDisplayOptions(approvalResource('getAll'), properties);

export async function execute(this: IExecuteFunctions, itemIndex: number): Promise<IDataObject[]> {
  const limit = listLimit(this, itemIndex);
  const filters = this.getNodeParameter('filters', itemIndex, {}) as IDataObject;
  const qs = stringFields(filters, [
    ['status', 'status'],
    ['createdBy', 'created_by'],
    ['approver', 'approver'],
  ]);
  if (typeof qs.approver === 'string' && qs.approver.startsWith('group:')) {
    throw new NodeOperationError(this.getNode(), 'Approver must be one identity, not a group', {
      itemIndex,
      description: `Item ${itemIndex}: got "${qs.approver}". Approvals list each group's members; filter by one of them.`,
    });
  }
  return await cortexList(this, '/v1/approvals', qs, limit, itemIndex);
}
