// Approval Gate, webhook(): the Cortex service's callback on the execution's resume URL (n8n has
// checked the URL's signature). The body ({type, timestamp, data: {approval}}) only says which
// approval ended: the node reads the approval back from the service with its credential and
// routes on the state the service holds — approved → Approved, rejected → Rejected,
// cancelled → Rejected (the item says status "cancelled", with cancelled_by and cancel_reason:
// a withdrawn request must never go ahead), timed_out → Timed Out. Anything else (not an approval event, an approval still pending)
// is answered and leaves the execution waiting; a service that cannot be read makes n8n
// answer an error, and the service retries the callback.

import type { IDataObject, IWebhookFunctions, IWebhookResponseData } from 'n8n-workflow';
import { cortexRequest } from '../shared/cortex-transport.ts';
import { OUTPUT } from './description.ts';
import { approvalItem, onOutput } from './execute.ts';

const FINAL_EVENTS = ['approval.approved', 'approval.rejected', 'approval.timed_out', 'approval.cancelled'];
const OUTPUT_OF: Record<string, number> = { approved: OUTPUT.approved, rejected: OUTPUT.rejected, cancelled: OUTPUT.rejected, timed_out: OUTPUT.timedOut };

export async function webhook(this: IWebhookFunctions): Promise<IWebhookResponseData> {
  const body = (this.getBodyData() ?? {}) as { type?: unknown; data?: { approval?: { approval_id?: unknown } } };
  const type = String(body.type ?? '');
  const id = body.data?.approval?.approval_id;
  if (!FINAL_EVENTS.includes(type) || typeof id !== 'string' || !id) {
    return { webhookResponse: { resumed: false, reason: `not an approval outcome: ${type || 'no type'}` } };
  }
  const approval = await cortexRequest<IDataObject>(this, { method: 'GET', path: `/v1/approvals/${encodeURIComponent(id)}` });
  const output = OUTPUT_OF[String(approval.status)];
  if (output === undefined) {
    return { webhookResponse: { resumed: false, reason: `approval ${id} is ${String(approval.status)}` } };
  }
  return { workflowData: onOutput(output, approvalItem(approval, false)) };
}
