// Handoff node: Cortex handoffs between contractors (create, claim, complete, … and wait for
// completion), workflow runs with their phases and rollback plans, metrics, and approvals (get,
// list, cancel, record a decision). Operations live in actions/<resource>/<operation>.operation.ts;
// actions/router.ts runs them per item.

import type { IExecuteFunctions, INodeExecutionData, INodeType, INodeTypeDescription, IWebhookFunctions, IWebhookResponseData } from 'n8n-workflow';
import { webhook as waitForCompletionWebhook } from './actions/handoff/waitForCompletion.operation.ts';
import { router } from './actions/router.ts';
import { versionDescription } from './actions/versionDescription.ts';

export class Handoff implements INodeType {
  description: INodeTypeDescription = {
    displayName: 'Handoff',
    name: 'handoff',
    icon: { light: 'file:cortex.svg', dark: 'file:cortex.dark.svg' },
    group: ['transform'],
    version: 1,
    subtitle: '={{ $parameter["operation"] + ": " + $parameter["resource"] }}',
    description: 'Hand work between Cortex contractors and wait for it; track workflow runs, rollbacks, metrics and approvals',
    defaults: { name: 'Handoff' },
    usableAsTool: true,
    ...versionDescription,
  };

  async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
    return await router.call(this);
  }

  /** The Cortex service's callback that resumes a Wait for Completion. */
  async webhook(this: IWebhookFunctions): Promise<IWebhookResponseData> {
    return await waitForCompletionWebhook.call(this);
  }
}
