// /v1/subscriptions: callback URLs for events, delivered signed per Standard Webhooks.

import { defineRoute, type RouteSpec } from '../route.ts';
import { CreateSubscriptionBody, ErrorView, SubscriptionIdParams, SubscriptionView } from '../schemas.ts';
import { forbidden, notFound } from '../../domain/errors.ts';
import { isAdmin, type Clock, type Principal } from '../../domain/principal.ts';
import { runParties } from '../../domain/run-parties.ts';
import { newSubscription } from '../../domain/subscriptions.ts';
import type { Subscription, SubscriptionFilter } from '../../domain/types.ts';
import type { Store } from '../../store/store.ts';

function view(subscription: Subscription, withSecret: boolean) {
  return {
    subscription_id: subscription.subscription_id,
    owner: subscription.owner,
    url: subscription.url,
    events: subscription.events,
    filter: subscription.filter,
    description: subscription.description,
    created_at: new Date(subscription.created_at).toISOString(),
    ...(withSecret ? { secret: subscription.secret } : {}),
  };
}

/**
 * A contractor may only listen to handoffs it is a party to, to approvals it created
 * (filter.approval_id) and to runs it is a party to (filter.run_id; the parties of a run never
 * change, so the check at subscription time holds for every later event). Run events of a whole
 * workflow are for the admin: the parties of runs not started yet are unknown.
 */
async function authorize(store: Store, principal: Principal, events: string[], filter: SubscriptionFilter): Promise<void> {
  if (isAdmin(principal)) return;
  if (events.some((event) => event.startsWith('approval.'))) {
    const approval = filter.approval_id ? await store.getApproval(filter.approval_id) : null;
    if (!approval || approval.created_by !== principal.name) {
      throw forbidden(`contractor ${principal.name} may only subscribe to approval events with filter.approval_id set to an approval it created`);
    }
  }
  if (events.some((event) => event.startsWith('run.'))) {
    const run = filter.run_id ? await store.getRun(filter.run_id) : null;
    if (!run || !runParties(run).includes(principal.name)) {
      throw forbidden(`contractor ${principal.name} may only subscribe to run events with filter.run_id set to a run it started or owns a phase of`);
    }
  }
  const handoffEvents = events.some((event) => event.startsWith('handoff.'));
  if (handoffEvents && filter.to_contractor !== principal.name && filter.from_contractor !== principal.name) {
    throw forbidden(`contractor ${principal.name} may only subscribe to handoff events with filter.to_contractor or filter.from_contractor set to itself`);
  }
}

async function owned(store: Store, principal: Principal, id: string): Promise<Subscription> {
  const subscription = await store.getSubscription(id);
  if (!subscription || (!isAdmin(principal) && subscription.owner !== principal.name)) throw notFound('subscription', id);
  return subscription;
}

export function subscriptionRoutes(store: Store, clock: Clock): RouteSpec[] {
  return [
    defineRoute({
      method: 'post',
      path: '/v1/subscriptions',
      tag: 'subscriptions',
      summary: 'Subscribe a URL to events; the answer carries the signing secret (only this once)',
      body: CreateSubscriptionBody,
      responses: {
        201: { description: 'created', schema: SubscriptionView },
        400: { description: 'invalid request', schema: ErrorView },
        403: { description: 'a contractor subscribing to handoffs or runs it is no party to, or to approvals it did not create', schema: ErrorView },
      },
      handler: async ({ principal, body }) => {
        await authorize(store, principal, body.events, body.filter);
        const subscription = newSubscription(
          { owner: principal.name, url: body.url, events: body.events, filter: body.filter, description: body.description ?? null },
          clock.now(),
        );
        await store.createSubscription(subscription);
        return { status: 201, body: view(subscription, true) };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/subscriptions',
      tag: 'subscriptions',
      summary: 'List subscriptions (a contractor sees its own)',
      responses: { 200: { description: 'the list' } },
      handler: async ({ principal }) => {
        const items = await store.listSubscriptions(isAdmin(principal) ? undefined : principal.name);
        return { status: 200, body: { items: items.map((item) => view(item, false)) } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/subscriptions/:id',
      tag: 'subscriptions',
      summary: 'Get a subscription (without its secret)',
      params: SubscriptionIdParams,
      responses: { 200: { description: 'the subscription', schema: SubscriptionView }, 404: { description: 'none', schema: ErrorView } },
      handler: async ({ principal, params }) => ({ status: 200, body: view(await owned(store, principal, params.id), false) }),
    }),
    defineRoute({
      method: 'delete',
      path: '/v1/subscriptions/:id',
      tag: 'subscriptions',
      summary: 'Delete a subscription and its undelivered messages',
      params: SubscriptionIdParams,
      responses: { 204: { description: 'deleted' }, 404: { description: 'none', schema: ErrorView } },
      handler: async ({ principal, params }) => {
        await owned(store, principal, params.id);
        await store.deleteSubscription(params.id);
        return { status: 204 };
      },
    }),
  ];
}
