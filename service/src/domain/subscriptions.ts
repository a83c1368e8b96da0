// Which subscriptions an outgoing event is delivered to, and how a new one is made.

import { randomUUID } from 'node:crypto';
import { generateWebhookSecret } from './webhook-signature.ts';
import type { OutgoingEvent, Subscription } from './types.ts';

/** A new subscription: a fresh id and signing secret around what the caller chose. */
export function newSubscription(fields: Omit<Subscription, 'subscription_id' | 'secret' | 'created_at'>, now: number): Subscription {
  return { subscription_id: `sub_${randomUUID().replaceAll('-', '')}`, ...fields, secret: generateWebhookSecret(), created_at: now };
}

/**
 * A subscription receives an event when it lists the event's type and every key set in
 * its filter equals the same attribute of the event. A filter key that the event does
 * not carry does not match (a handoff_id filter never receives run events).
 */
export function subscriptionMatches(sub: Pick<Subscription, 'events' | 'filter'>, event: OutgoingEvent): boolean {
  if (!sub.events.includes(event.type)) return false;
  const attributes = event.attributes as Record<string, unknown>;
  for (const [key, wanted] of Object.entries(sub.filter)) {
    if (wanted === undefined || wanted === null) continue;
    const actual = attributes[key];
    if (actual === undefined || actual === null || actual !== wanted) return false;
  }
  return true;
}
