// Handoff Trigger: starts a workflow when the Cortex service reports a handoff event for a
// contractor. Activating the workflow registers a subscription with the service (its id and
// signing secret are kept in the node's static data); deactivating removes it. Every call is
// checked against the Standard Webhooks signature before anything starts.

import { NodeApiError, NodeConnectionTypes, jsonParse } from 'n8n-workflow';
import type {
  IDataObject,
  IHookFunctions,
  INodeType,
  INodeTypeDescription,
  IWebhookFunctions,
  IWebhookResponseData,
} from 'n8n-workflow';
import { cortexRequest } from '../shared/cortex-transport.ts';
import { headerValue, verifyWebhookSignature } from '../shared/webhook-verify.ts';

/** What the node keeps between activations, in the workflow's static data. */
interface SubscriptionState extends IDataObject {
  subscriptionId?: string;
  secret?: string;
}

interface SubscriptionView {
  subscription_id: string;
  url: string;
  events: string[];
  filter: IDataObject;
  secret?: string;
}

interface DesiredSubscription {
  url: string;
  events: string[];
  filter: { to_contractor: string; from_contractor?: string };
}

interface CallbackBody {
  type?: unknown;
  timestamp?: unknown;
  data?: { handoff?: IDataObject };
}

function desiredSubscription(context: IHookFunctions): DesiredSubscription {
  const url = context.getNodeWebhookUrl('default') ?? '';
  const contractor = String(context.getNodeParameter('contractor', '')).trim();
  const events = [...new Set(context.getNodeParameter('events', []) as string[])].sort();
  const options = context.getNodeParameter('options', {}) as IDataObject;
  const fromContractor = String(options.fromContractor ?? '').trim();
  return {
    url,
    events,
    filter: { to_contractor: contractor, ...(fromContractor ? { from_contractor: fromContractor } : {}) },
  };
}

/** The service's subscription is the one this node wants: same URL, events and filter. */
function matches(existing: SubscriptionView, desired: DesiredSubscription): boolean {
  const events = [...existing.events].sort();
  const filter = existing.filter ?? {};
  const filterKeys = Object.keys(filter).filter((key) => filter[key] !== undefined && filter[key] !== null);
  const desiredKeys = Object.keys(desired.filter);
  return (
    existing.url === desired.url &&
    events.length === desired.events.length &&
    events.every((event, i) => event === desired.events[i]) &&
    filterKeys.length === desiredKeys.length &&
    desiredKeys.every((key) => filter[key] === desired.filter[key as keyof DesiredSubscription['filter']])
  );
}

/**
 * A service call where 404 means "not there" (undefined). cortexRequest already turns every other
 * failure into a NodeApiError with the service's message, which is passed on unchanged.
 */
async function unlessNotFound<T>(call: Promise<T>): Promise<T | undefined> {
  return await call.catch((error: unknown) => {
    if (error instanceof NodeApiError && error.httpCode === '404') return undefined;
    throw error;
  });
}

function subscriptionPath(subscriptionId: string): string {
  return `/v1/subscriptions/${encodeURIComponent(subscriptionId)}`;
}

/** Deletes a subscription; one the service no longer knows is as good as deleted. */
async function removeSubscription(context: IHookFunctions, subscriptionId: string): Promise<void> {
  await unlessNotFound(cortexRequest(context, { method: 'DELETE', path: subscriptionPath(subscriptionId) }));
}

export class HandoffTrigger implements INodeType {
  description: INodeTypeDescription = {
    displayName: 'Handoff Trigger',
    name: 'handoffTrigger',
    icon: { light: 'file:cortex.svg', dark: 'file:cortex.dark.svg' },
    group: ['trigger'],
    version: 1,
    subtitle: '={{ "for " + $parameter["contractor"] }}',
    description: 'Starts the workflow when a Cortex handoff addressed to a contractor is created, fails, times out or is cancelled',
    defaults: { name: 'Handoff Trigger' },
    inputs: [],
    outputs: [NodeConnectionTypes.Main],
    credentials: [{ name: 'cortexApi', required: true }],
    webhooks: [{ name: 'default', httpMethod: 'POST', responseMode: 'onReceived', path: 'webhook' }],
    properties: [
      {
        displayName:
          'Each item is the handoff (handoff_id, from_contractor, to_contractor, task_id, data, status, result, error, …) plus "event" (e.g. handoff.created), "event_timestamp" and "webhook_id" (the same on a redelivery: use it to skip duplicates)',
        name: 'notice',
        type: 'notice',
        default: '',
      },
      {
        displayName: 'Contractor',
        name: 'contractor',
        type: 'string',
        required: true,
        default: '',
        placeholder: 'talos-contractor',
        description:
          'The contractor the handoffs are addressed to. The credential must be this contractor’s token (or the admin token).',
      },
      {
        displayName: 'Events',
        name: 'events',
        type: 'multiOptions',
        required: true,
        default: ['handoff.created'],
        description: 'Which changes of a handoff start the workflow',
        options: [
          { name: 'Cancelled', value: 'handoff.cancelled', description: 'The sender cancelled the handoff' },
          { name: 'Created', value: 'handoff.created', description: 'A new handoff waits to be claimed' },
          { name: 'Failed', value: 'handoff.failed', description: 'The handoff was reported as failed' },
          {
            name: 'Timed Out',
            value: 'handoff.timed_out',
            description: 'Nobody claimed, completed or sent a heartbeat in time',
          },
        ],
      },
      {
        displayName: 'Options',
        name: 'options',
        type: 'collection',
        placeholder: 'Add option',
        default: {},
        options: [
          {
            displayName: 'From Contractor',
            name: 'fromContractor',
            type: 'string',
            default: '',
            placeholder: 'infrastructure-contractor',
            description: 'Only handoffs sent by this contractor',
          },
        ],
      },
    ],
  };

  webhookMethods = {
    default: {
      /**
       * True when the stored subscription still exists on the service with this node's URL, events
       * and filter. One that is gone is forgotten; one with other settings is deleted (create()
       * then makes the right one). A test listener ("Listen for test event": manual mode, the
       * /webhook-test/ URL) starts from the active workflow's static data: the production
       * subscription it finds there is left alone.
       */
      async checkExists(this: IHookFunctions): Promise<boolean> {
        const state = this.getWorkflowStaticData('node') as SubscriptionState;
        const subscriptionId = state.subscriptionId;
        if (!subscriptionId) return false;
        const forget = () => {
          delete state.subscriptionId;
          delete state.secret;
        };
        const existing = await unlessNotFound(
          cortexRequest<SubscriptionView>(this, { method: 'GET', path: subscriptionPath(subscriptionId) }),
        );
        if (!existing) {
          // Deleted on the service (or owned by another token): create a new one.
          forget();
          return false;
        }
        const desired = desiredSubscription(this);
        if (existing.url === desired.url) {
          if (state.secret && matches(existing, desired)) return true;
          // Same endpoint, other events or filter (or its secret was lost): replace it.
          await removeSubscription(this, subscriptionId);
        } else if (this.getMode() !== 'manual') {
          // n8n's webhook URL changed: the old subscription would call a dead address.
          await removeSubscription(this, subscriptionId);
        }
        forget();
        return false;
      },

      async create(this: IHookFunctions): Promise<boolean> {
        const desired = desiredSubscription(this);
        const node = this.getNode();
        const workflow = this.getWorkflow();
        const created = await cortexRequest<SubscriptionView>(this, {
          method: 'POST',
          path: '/v1/subscriptions',
          body: {
            ...desired,
            description: `n8n workflow "${workflow.name ?? workflow.id}" (${workflow.id}), node "${node.name}"`.slice(0, 500),
          },
        });
        const state = this.getWorkflowStaticData('node') as SubscriptionState;
        state.subscriptionId = created.subscription_id;
        state.secret = created.secret;
        return true;
      },

      async delete(this: IHookFunctions): Promise<boolean> {
        const state = this.getWorkflowStaticData('node') as SubscriptionState;
        if (state.subscriptionId) await removeSubscription(this, state.subscriptionId);
        delete state.subscriptionId;
        delete state.secret;
        return true;
      },
    },
  };

  async webhook(this: IWebhookFunctions): Promise<IWebhookResponseData> {
    const request = this.getRequestObject() as ReturnType<IWebhookFunctions['getRequestObject']> & { rawBody?: Buffer };
    const headers = this.getHeaderData() as IDataObject;
    const state = this.getWorkflowStaticData('node') as SubscriptionState;
    // n8n keeps the exact bytes received in rawBody; a re-serialised body is only a fallback.
    const raw: Buffer | string = Buffer.isBuffer(request.rawBody) ? request.rawBody : JSON.stringify(this.getBodyData());
    const webhookId = headerValue(headers['webhook-id']);
    const check = verifyWebhookSignature(
      state.secret ?? '',
      { id: webhookId, timestamp: headerValue(headers['webhook-timestamp']), signature: headerValue(headers['webhook-signature']) },
      raw,
      Math.floor(Date.now() / 1000),
    );
    if (!check.valid) {
      this.getResponseObject()
        .status(401)
        .json({ error: { code: 'invalid_signature', message: `Callback refused: ${check.reason.replaceAll('_', ' ')}` } });
      return { noWebhookResponse: true };
    }

    const body = jsonParse<CallbackBody>(typeof raw === 'string' ? raw : raw.toString('utf8'), { fallbackValue: {} });
    const event = typeof body.type === 'string' ? body.type : '';
    const handoff = body.data?.handoff;
    const events = this.getNodeParameter('events', []) as string[];
    const contractor = String(this.getNodeParameter('contractor', '')).trim();
    const fromContractor = String((this.getNodeParameter('options', {}) as IDataObject).fromContractor ?? '').trim();
    // A signed call this node's settings do not ask for (a subscription made before they changed)
    // is acknowledged, not run.
    if (
      !handoff ||
      !events.includes(event) ||
      handoff.to_contractor !== contractor ||
      (fromContractor !== '' && handoff.from_contractor !== fromContractor)
    ) {
      return { webhookResponse: { received: true, started: false } };
    }
    return {
      workflowData: [
        [
          {
            json: {
              event,
              event_timestamp: typeof body.timestamp === 'string' ? body.timestamp : null,
              webhook_id: webhookId,
              ...handoff,
            },
          },
        ],
      ],
    };
  }
}
