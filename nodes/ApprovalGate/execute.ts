// Approval Gate, execute(): creates the approval on the Cortex service and pauses the
// execution until the service calls back with the outcome (resume.ts).
//
//   1. One item per execution (n8n pauses the whole execution); more is a NodeOperationError.
//   2. POST /v1/approvals with the fields, callback_url = $execution.resumeUrl and an
//      Idempotency-Key of this execution, node and run: a retry after a lost answer gets the
//      same approval (and the same callback subscription) back. The service answers with the
//      approvers' links.
//   3. Notify URL (option): POST the approval with the links there (e.g. to the Webhook of a
//      notification workflow). The node's own output is not seen by anyone while it waits.
//   4. The wait limit: the deadline plus a margin. Before pausing, the stack entry is set so
//      that a resume by n8n's wait limit (no callback) forwards the approval, as read at the
//      start, with wait_timeout: true on Timed Out — never on Approved (shared/wait-limit.ts).
//   5. putExecutionToWait. The service's callback resumes the node through webhook().

import { NodeApiError, NodeOperationError } from 'n8n-workflow';
import type { IDataObject, IExecuteFunctions, INodeExecutionData, JsonObject } from 'n8n-workflow';
import { cortexRequest } from '../shared/cortex-transport.ts';
import { defaultIdempotencyKey, jsonObject } from '../shared/parameters.ts';
import { prepareWaitLimitExit, resumeUrlOf, UNIT_MS } from '../shared/wait-limit.ts';
import { OUTPUT } from './description.ts';

/** The approval as the node's outputs carry it: no links (they are the approvers' keys). */
export function approvalItem(approval: IDataObject, waitTimeout: boolean): INodeExecutionData {
  const { links: _links, callback: _callback, ...rest } = approval;
  return { json: { ...rest, wait_timeout: waitTimeout }, pairedItem: { item: 0 } };
}

/** Three outputs with `item` on one of them. */
export function onOutput(output: number, item: INodeExecutionData): INodeExecutionData[][] {
  return [0, 1, 2].map((index) => (index === output ? [item] : []));
}

function parameterError(context: IExecuteFunctions, message: string, description?: string): NodeOperationError {
  return new NodeOperationError(context.getNode(), message, { itemIndex: 0, ...(description ? { description } : {}) });
}

function approversOf(context: IExecuteFunctions): string[] {
  const text = String(context.getNodeParameter('approvers', 0, '') ?? '');
  const approvers = text
    .split(/[,\n;]/)
    .map((entry) => entry.trim())
    .filter(Boolean);
  if (approvers.length === 0) throw parameterError(context, 'Approvers is required', 'Name at least one approver, e.g. "alice, bob" or "group:sre".');
  return approvers;
}

function contextOf(context: IExecuteFunctions, item: INodeExecutionData): IDataObject {
  const source = context.getNodeParameter('contextSource', 0, 'item') as string;
  if (source === 'none') return {};
  if (source === 'item') return item.json ?? {};
  return jsonObject(context, context.getNodeParameter('contextJson', 0, '{}'), 0, 'Context JSON');
}

function deadlineOf(context: IExecuteFunctions): number | string {
  if ((context.getNodeParameter('deadlineType', 0, 'after') as string) === 'at') {
    const at = String(context.getNodeParameter('deadlineAt', 0, '') ?? '');
    const ms = Date.parse(at);
    if (!at || !Number.isFinite(ms)) throw parameterError(context, 'Deadline At must be a date and time', `Got "${at}".`);
    return new Date(ms).toISOString();
  }
  const amount = context.getNodeParameter('deadlineAmount', 0, 1) as number;
  const unit = context.getNodeParameter('deadlineUnit', 0, 'days') as string;
  const seconds = (amount * (UNIT_MS[unit] ?? UNIT_MS.days!)) / 1000;
  if (!Number.isFinite(seconds) || seconds <= 0) throw parameterError(context, 'Deadline After must be more than 0');
  return seconds;
}

export async function execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
  const items = this.getInputData();
  if (items.length !== 1) {
    throw new NodeOperationError(this.getNode(), `The Approval Gate waits for one approval per execution, but got ${items.length} items`, {
      itemIndex: Math.min(1, items.length),
      description:
        'n8n pauses the whole execution while it waits. Send one item: put the node inside a Loop Over Items node (batch size 1), or aggregate the items into one first.',
    });
  }
  const options = this.getNodeParameter('options', 0, {}) as { approvalId?: string; notifyUrl?: string; waitLimitMargin?: number };
  const title = String(this.getNodeParameter('title', 0, '') ?? '').trim();
  if (!title) throw parameterError(this, 'Title is required');
  // Checked before the approval exists: a bad URL must not leave an open approval behind.
  const notifyUrl = options.notifyUrl?.trim();
  if (notifyUrl && !/^https?:\/\//.test(notifyUrl)) throw parameterError(this, 'Notify URL must be an http(s) URL', `Got "${notifyUrl}".`);
  const body: IDataObject = {
    title,
    description: String(this.getNodeParameter('description', 0, '') ?? ''),
    context: contextOf(this, items[0]!),
    approvers: approversOf(this),
    required_approvals: this.getNodeParameter('requiredApprovals', 0, 1) as number,
    reject_on_first_rejection: this.getNodeParameter('rejectOnFirstRejection', 0, true) as boolean,
    deadline: deadlineOf(this),
    callback_url: resumeUrlOf(this, 0, 'The Approval Gate'),
    ...(options.approvalId?.trim() ? { approval_id: options.approvalId.trim() } : {}),
  };
  // Stable for this execution, node and run: n8n's Retry On Fail after a lost answer gets the
  // same approval back; a loop (another run) or another execution creates a new one.
  const idempotencyKey = defaultIdempotencyKey(this, 0);
  const approval = await cortexRequest(this, { method: 'POST', path: '/v1/approvals', body, ...(idempotencyKey ? { headers: { 'Idempotency-Key': idempotencyKey } } : {}), itemIndex: 0 });

  if (notifyUrl) {
    const { callback: _callback, ...notification } = approval;
    try {
      await this.helpers.httpRequest({ method: 'POST', url: notifyUrl, body: { event: 'approval.requested', ...notification }, json: true });
    } catch (error) {
      // Only the message (a code would make n8n swap our message for a generic one): the raw HTTP error carries
      // the request body with the approvers' links.
      throw new NodeApiError(this.getNode(), { message: (error as Error).message ?? String(error) } as JsonObject, {
        message: `Could not notify the approvers through ${notifyUrl}`,
        description: `The approval ${String(approval.approval_id)} was created and stays open until its deadline. ${(error as Error).message}`,
        itemIndex: 0,
      });
    }
  }

  const margin = options.waitLimitMargin ?? 10;
  const deadline = Date.parse(String(approval.deadline));
  const waitTill = new Date(deadline + Math.max(0, Number.isFinite(margin) ? margin : 10) * 60_000);
  const onWaitLimit = onOutput(OUTPUT.timedOut, approvalItem(approval, true));
  prepareWaitLimitExit(this, onWaitLimit);
  await this.putExecutionToWait(waitTill);
  return onWaitLimit;
}
