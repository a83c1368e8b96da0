// A store whose `apply` tells the loops about what it just wrote: an armed deadline wakes
// the sweeper for its due time, new outgoing events wake the relay. Deadlines then fire on
// time and callbacks leave at once, instead of at the loops' next poll.

import type { Store } from '../store/store.ts';

export interface WakeUps {
  timerArmed(dueAt: number): void;
  eventsWritten(): void;
}

export function withWakeUps(store: Store, wakeUps: WakeUps): Store {
  const apply: Store['apply'] = async (mutation) => {
    await store.apply(mutation);
    for (const timer of mutation.timersToSet ?? []) wakeUps.timerArmed(timer.due_at);
    if (mutation.outgoing?.length) wakeUps.eventsWritten();
  };
  // Every other member is the store's own, bound to it: a method that keeps state on
  // `this` (the subscription cache) must see the same object `apply` uses.
  return new Proxy(store, {
    get(target, property) {
      if (property === 'apply') return apply;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
