// Approval Gate: pauses the workflow until N of M named approvers approve on the Cortex
// service's approval page, someone rejects, the request is cancelled on the service, or the
// deadline passes — outputs Approved, Rejected (also a cancelled request) and Timed Out, with
// who decided and their comments. execute.ts creates the approval and pauses; resume.ts
// handles the service's callback. A timeout or a cancellation never leaves on Approved,
// whether the service's deadline or n8n's own wait limit ends the wait.

import type { IExecuteFunctions, INodeExecutionData, INodeType, INodeTypeDescription, IWebhookFunctions, IWebhookResponseData } from 'n8n-workflow';
import { description } from './description.ts';
import { execute } from './execute.ts';
import { webhook } from './resume.ts';

// Not an AI agent tool: it pauses the whole execution until people decide, which a tool call cannot.
// eslint-disable-next-line @n8n/community-nodes/node-usable-as-tool
export class ApprovalGate implements INodeType {
  description: INodeTypeDescription = {
    displayName: 'Approval Gate',
    name: 'approvalGate',
    icon: { light: 'file:approval.svg', dark: 'file:approval.dark.svg' },
    group: ['transform'],
    version: 1,
    subtitle: '={{ $parameter["requiredApprovals"] + " approval(s) required" }}',
    description: 'Wait until enough named approvers approve, someone rejects (or the request is cancelled), or the deadline passes',
    defaults: { name: 'Approval Gate' },
    ...description,
  };

  async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
    return await execute.call(this);
  }

  /** The Cortex service's callback with the outcome. */
  async webhook(this: IWebhookFunctions): Promise<IWebhookResponseData> {
    return await webhook.call(this);
  }
}
