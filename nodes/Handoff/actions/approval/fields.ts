// Fields the approval operations share.

import type { INodeProperties } from 'n8n-workflow';

export const approvalIdField: INodeProperties = {
  displayName: 'Approval ID',
  name: 'approvalId',
  type: 'string',
  required: true,
  default: '',
  placeholder: 'e.g. apr_9c2e…',
  description: 'ID of the approval, e.g. {{ $json.approval_id }} from an Approval Gate node or a Get Many',
};

export const approvalResource = (operation: string) => ({ show: { resource: ['approval'], operation: [operation] } });
