// Handoff → Wait for Completion: pauses the execution until the handoff ends, without polling
// (the Wait node's pattern: restartWebhook + putExecutionToWait), and resumes on the service's
// callback. Two outputs: 0 "Completed", 1 "Failed / Timed Out".
//
// execute():
//   1. GET the handoff. Already completed/failed → out at once on the right output.
//   2. POST /v1/subscriptions {url: $execution.resumeUrl, the four final handoff events,
//      filter {handoff_id, from_contractor, to_contractor}} (the parties make a contractor
//      credential's subscription allowed; they never change, so they filter nothing away).
//   3. GET it again: if it ended between 1 and 2, DELETE the subscription and return at once.
//      Otherwise the subscription was in place before the end, so the final event will reach
//      the resume URL: pause. A callback that arrives before n8n has saved the execution as
//      waiting is answered 409 by n8n; the service retries it with backoff until it lands.
//   4. Before pausing, the node's stack entry is set to what n8n must emit if it resumes the
//      node WITHOUT a webhook call (the "Limit Wait Time" passed; nodes/shared/wait-limit.ts,
//      shared with the Approval Gate): n8n then disables the node
//      and forwards its stack entry's data (WorkflowExecute.handleWaitingState and
//      handleDisabledNode). Left alone that would be the node's INPUT on output 0, "Completed";
//      so data.main becomes [[], [the handoff + wait_timeout: true]] and the metadata
//      forwardAllOutputs (the flag n8n's own webhook resume sets) makes both outputs pass.
//      The entry's source gets a second input equal to the first, so items on output 1 keep
//      their pairing to the waiting item (n8n pairs data.main[k] with input k).
// webhook(): the service's Standard Webhooks body {type, timestamp, data: {handoff}} names the
//   handoff; the node reads it back from the service and routes on its status there: completed
//   → output 0, failed (also timed out, cancelled) → output 1. The service retires the
//   subscription after delivering the final event.
//
// One handoff per execution: n8n pauses the whole execution, so this operation takes exactly
// one input item and refuses more with a NodeOperationError (loop over items to wait for
// several handoffs one after another).

import { NodeApiError, updateDisplayOptions } from 'n8n-workflow';
import type {
  IDataObject,
  IExecuteFunctions,
  INodeExecutionData,
  INodeProperties,
  IWebhookFunctions,
  IWebhookResponseData,
  JsonObject,
} from 'n8n-workflow';
import { cortexRequest } from '../../../shared/cortex-transport.ts';
import { prepareWaitLimitExit, resumeUrlOf, waitLimitDate } from '../../../shared/wait-limit.ts';
import { FINAL_HANDOFF_STATUSES, requiredString, segment } from '../common.ts';
import { handoffIdField, handoffResource } from './fields.ts';

export const FINAL_EVENTS = ['handoff.completed', 'handoff.failed', 'handoff.timed_out', 'handoff.cancelled'] as const;

const properties: INodeProperties[] = [
  {
    displayName:
      'The execution pauses until the handoff is completed (first output) or failed, timed out or cancelled (second output). The Cortex service calls n8n back, so it must reach n8n\'s URL (WEBHOOK_URL). Send one item: one execution waits for one handoff.',
    name: 'waitNotice',
    type: 'notice',
    default: '',
  },
  handoffIdField,
  {
    displayName: 'Limit Wait Time',
    name: 'limitWaitTime',
    type: 'boolean',
    default: true,
    description:
      'Whether n8n stops waiting after a while even without news from the service; the item then leaves on the second output with wait_timeout set. The handoff\'s own deadlines (claim, completion, heartbeat timeouts) usually end it first.',
  },
  {
    displayName: 'Max Wait',
    name: 'limitAmount',
    type: 'number',
    typeOptions: { minValue: 0, numberPrecision: 2 },
    default: 1,
    displayOptions: { show: { limitWaitTime: [true] } },
    description: 'How long to wait at most',
  },
  {
    displayName: 'Unit',
    name: 'limitUnit',
    type: 'options',
    default: 'days',
    displayOptions: { show: { limitWaitTime: [true] } },
    options: [
      { name: 'Seconds', value: 'seconds' },
      { name: 'Minutes', value: 'minutes' },
      { name: 'Hours', value: 'hours' },
      { name: 'Days', value: 'days' },
    ],
    description: 'Unit of Max Wait',
  },
];

export const description = updateDisplayOptions(handoffResource('waitForCompletion'), properties);

/** The two outputs: completed handoffs on 0, everything else on 1. */
export function routeHandoff(handoff: IDataObject, waitTimeout = false): INodeExecutionData[][] {
  const item: INodeExecutionData = { json: { ...handoff, wait_timeout: waitTimeout }, pairedItem: { item: 0 } };
  return !waitTimeout && handoff.status === 'completed' ? [[item], []] : [[], [item]];
}

const isFinal = (handoff: IDataObject): boolean => (FINAL_HANDOFF_STATUSES as readonly unknown[]).includes(handoff.status);

function waitLimit(context: IExecuteFunctions): Date {
  return waitLimitDate(
    context,
    context.getNodeParameter('limitWaitTime', 0, true) as boolean,
    context.getNodeParameter('limitAmount', 0, 1) as number,
    context.getNodeParameter('limitUnit', 0, 'days') as string,
  );
}

/** Execute for the single input item (the router refuses more than one). */
export async function execute(this: IExecuteFunctions, itemIndex: number): Promise<INodeExecutionData[][]> {
  const id = requiredString(this, 'handoffId', itemIndex, 'Handoff ID');
  const waitTill = waitLimit(this);
  const path = `/v1/handoffs/${segment(id)}`;

  const before = await cortexRequest(this, { method: 'GET', path, itemIndex });
  if (isFinal(before)) return routeHandoff(before);

  const resumeUrl = resumeUrlOf(this, itemIndex, 'Wait for Completion');
  const subscription = await cortexRequest(this, {
    method: 'POST',
    path: '/v1/subscriptions',
    body: {
      url: resumeUrl,
      events: [...FINAL_EVENTS],
      filter: { handoff_id: id, from_contractor: before.from_contractor, to_contractor: before.to_contractor },
      description: `n8n Wait for Completion: execution ${this.getExecutionId()}, node "${this.getNode().name}"`,
    },
    itemIndex,
  });
  const unsubscribe = async () => {
    try {
      await cortexRequest(this, { method: 'DELETE', path: `/v1/subscriptions/${segment(String(subscription.subscription_id))}`, itemIndex });
    } catch {
      // Best effort: an undelivered subscription of a finished handoff is retired by the service.
    }
  };

  let now: IDataObject;
  try {
    now = await cortexRequest(this, { method: 'GET', path, itemIndex });
  } catch (error) {
    await unsubscribe();
    // cortexRequest throws NodeApiErrors; wrapping one hands the same error back.
    throw new NodeApiError(this.getNode(), error as JsonObject, { itemIndex });
  }
  if (isFinal(now)) {
    await unsubscribe();
    return routeHandoff(now);
  }

  // What n8n emits if it resumes this node because waitTill passed (no webhook call): see
  // above and nodes/shared/wait-limit.ts.
  const onWaitLimit = routeHandoff(now, true);
  prepareWaitLimitExit(this, onWaitLimit);
  await this.putExecutionToWait(waitTill);
  return onWaitLimit;
}

/**
 * The service's callback on the execution's resume URL (n8n has checked the URL's signature).
 * The body only says which handoff ended: like the Approval Gate, the node reads the handoff back
 * from the service with its credential and routes on the state the service holds, so a body
 * that claims another status (or carries another result) changes nothing.
 */
export async function webhook(this: IWebhookFunctions): Promise<IWebhookResponseData> {
  const body = (this.getBodyData() ?? {}) as { type?: unknown; data?: { handoff?: { handoff_id?: unknown } } };
  const id = body.data?.handoff?.handoff_id;
  const type = String(body.type ?? '');
  if (!(FINAL_EVENTS as readonly string[]).includes(type) || typeof id !== 'string' || !id) {
    // Not a final handoff event: answer, keep waiting.
    return { webhookResponse: { resumed: false, reason: `not a final handoff event: ${type || 'no type'}` } };
  }
  const handoff = await cortexRequest(this, { method: 'GET', path: `/v1/handoffs/${segment(id)}` });
  if (!isFinal(handoff)) return { webhookResponse: { resumed: false, reason: `handoff ${id} is ${String(handoff.status)}` } };
  return { workflowData: routeHandoff(handoff) };
}
