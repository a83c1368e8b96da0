// Fields several handoff operations share.

import type { INodeProperties } from 'n8n-workflow';

export const handoffIdField: INodeProperties = {
  displayName: 'Handoff ID',
  name: 'handoffId',
  type: 'string',
  required: true,
  default: '',
  placeholder: 'e.g. hof_4f1c…',
  description: 'ID of the handoff, e.g. {{ $json.handoff_id }} from a Create or a Handoff Trigger node',
};

export const handoffResource = (operation: string) => ({ show: { resource: ['handoff'], operation: [operation] } });
