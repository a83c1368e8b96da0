// Fields several workflow run operations share.

import type { INodeProperties } from 'n8n-workflow';

export const runIdField: INodeProperties = {
  displayName: 'Run ID',
  name: 'runId',
  type: 'string',
  required: true,
  default: '',
  placeholder: 'e.g. run_9a0b…',
  description: 'ID of the workflow run, e.g. {{ $json.run_id }} from a Start node',
};

export const phaseIdField: INodeProperties = {
  displayName: 'Phase ID',
  name: 'phaseId',
  type: 'string',
  required: true,
  default: '',
  placeholder: 'e.g. provision-vms',
  description: 'The phase_id from the workflow definition',
};

export const runResource = (operation: string) => ({ show: { resource: ['workflowRun'], operation: [operation] } });
