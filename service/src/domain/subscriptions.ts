// Which subscriptions an outgoing event is delivered to.

import type { OutgoingEvent, Subscription } from './types.ts';

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
