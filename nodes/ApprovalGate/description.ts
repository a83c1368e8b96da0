// The Approval Gate's fields and outputs.

import { NodeConnectionTypes } from 'n8n-workflow';
import type { INodeProperties, INodeTypeDescription } from 'n8n-workflow';

export const OUTPUT = { approved: 0, rejected: 1, timedOut: 2 } as const;

export const properties: INodeProperties[] = [
  {
    displayName:
      'The execution pauses until enough approvers approve (Approved), the request is rejected or cancelled on the service (Rejected; a cancelled one has status "cancelled" and its cancel_reason), or the deadline passes (Timed Out). Approvers decide on the Cortex service\'s approval page through their own links; use Notify URL (Options) to hand the links to a workflow that sends them. The service must reach n8n\'s URL (WEBHOOK_URL). Send one item: one execution waits for one approval.',
    name: 'gateNotice',
    type: 'notice',
    default: '',
  },
  {
    displayName: 'Title',
    name: 'title',
    type: 'string',
    required: true,
    default: '',
    placeholder: 'Deploy {{ $json.cluster }} to production',
    description: 'What the approvers are asked to approve, shown as the approval page\'s heading',
  },
  {
    displayName: 'Description',
    name: 'description',
    type: 'string',
    typeOptions: { rows: 5 },
    default: '',
    description:
      'Details for the approvers, in Markdown: headings, lists, **bold**, *italic*, `code`, fenced code and http(s) links. Shown safely escaped.',
  },
  {
    displayName: 'Context',
    name: 'contextSource',
    type: 'options',
    default: 'item',
    options: [
      { name: 'Input Item', value: 'item', description: 'The input item\'s JSON' },
      { name: 'Custom JSON', value: 'json', description: 'A JSON object of your own' },
      { name: 'None', value: 'none' },
    ],
    description: 'Data shown to the approvers on the approval page and kept with the approval',
  },
  {
    displayName: 'Context JSON',
    name: 'contextJson',
    type: 'json',
    default: '{}',
    displayOptions: { show: { contextSource: ['json'] } },
    description: 'A JSON object shown to the approvers',
  },
  {
    displayName: 'Approvers',
    name: 'approvers',
    type: 'string',
    required: true,
    default: '',
    placeholder: 'alice, bob@example.com, group:sre',
    description:
      'Who may decide, separated by commas or new lines: identities (names or e-mail addresses) and groups configured on the service as group:&lt;name&gt; (CORTEX_APPROVER_GROUPS)',
  },
  {
    displayName: 'Required Approvals',
    name: 'requiredApprovals',
    type: 'number',
    typeOptions: { minValue: 1, numberPrecision: 0 },
    default: 1,
    description: 'How many of the approvers must approve (N of M)',
  },
  {
    displayName: 'Reject on First Rejection',
    name: 'rejectOnFirstRejection',
    type: 'boolean',
    default: true,
    description:
      'Whether a single rejection rejects the request. Off: it is rejected only once the required approvals can no longer be reached.',
  },
  {
    displayName: 'Deadline',
    name: 'deadlineType',
    type: 'options',
    default: 'after',
    options: [
      { name: 'After a Time', value: 'after' },
      { name: 'At a Date and Time', value: 'at' },
    ],
    description: 'When the request times out if it is not decided (the Timed Out output)',
  },
  {
    displayName: 'Deadline After',
    name: 'deadlineAmount',
    type: 'number',
    typeOptions: { minValue: 0, numberPrecision: 2 },
    default: 1,
    displayOptions: { show: { deadlineType: ['after'] } },
    description: 'How long the approvers have',
  },
  {
    displayName: 'Unit',
    name: 'deadlineUnit',
    type: 'options',
    default: 'days',
    displayOptions: { show: { deadlineType: ['after'] } },
    options: [
      { name: 'Minutes', value: 'minutes' },
      { name: 'Hours', value: 'hours' },
      { name: 'Days', value: 'days' },
    ],
    description: 'Unit of Deadline After',
  },
  {
    displayName: 'Deadline At',
    name: 'deadlineAt',
    type: 'dateTime',
    default: '',
    displayOptions: { show: { deadlineType: ['at'] } },
    description: 'The date and time the request times out',
  },
  {
    displayName: 'Options',
    name: 'options',
    type: 'collection',
    placeholder: 'Add Option',
    default: {},
    options: [
      {
        displayName: 'Approval ID',
        name: 'approvalId',
        type: 'string',
        default: '',
        description: 'Your own ID for the approval (letters, digits, ".", "_", ":" and "-"); generated when empty',
      },
      {
        displayName: 'Notify URL',
        name: 'notifyUrl',
        type: 'string',
        default: '',
        placeholder: 'https://n8n.example.com/webhook/send-approval-links',
        description:
          'Before pausing, POST the approval with every approver\'s link to this URL (e.g. the Webhook of a workflow that sends them by Slack or e-mail)',
      },
      {
        displayName: 'Wait Limit Margin (Minutes)',
        name: 'waitLimitMargin',
        type: 'number',
        typeOptions: { minValue: 0 },
        default: 10,
        description:
          'n8n stops waiting this long after the deadline even without news from the service; the item then leaves on Timed Out with wait_timeout set',
      },
    ],
  },
];

export const description: Pick<INodeTypeDescription, 'inputs' | 'outputs' | 'credentials' | 'webhooks' | 'properties'> = {
  inputs: [NodeConnectionTypes.Main],
  outputs: [
    { type: NodeConnectionTypes.Main, displayName: 'Approved' },
    { type: NodeConnectionTypes.Main, displayName: 'Rejected' },
    { type: NodeConnectionTypes.Main, displayName: 'Timed Out' },
  ],
  credentials: [{ name: 'cortexApi', required: true }],
  // The execution's resume URL ($execution.resumeUrl) that the service calls with the outcome.
  webhooks: [{ name: 'default', httpMethod: 'POST', responseMode: 'onReceived', path: '', restartWebhook: true }],
  properties,
};
