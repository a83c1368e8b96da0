// Committing a decided change: idempotency replay, optimistic retries on concurrent
// updates, and the idempotency record written in the same transaction as the change.

import { CortexError, conflict } from './errors.ts';
import type { Clock, Principal } from './principal.ts';
import type { IdempotencyRecord } from './types.ts';
import { IdempotencyKeyTaken, VersionConflict, type Mutation, type Store } from '../store/store.ts';

export interface IdempotencyRequest {
  key: string;
  /** A digest of the request (route and body): the same key with another request is refused. */
  fingerprint: string;
}

export interface Decision<T> {
  record: T;
  status: number;
  mutation: Mutation;
}

export interface Outcome<T> {
  record: T;
  status: number;
  /** True when this is the stored answer to an earlier request with the same key. */
  replayed: boolean;
}

/** How often a change is re-decided after losing a race to a concurrent update. */
const MAX_ATTEMPTS = 8;

function replay<T>(existing: IdempotencyRecord, request: IdempotencyRequest): Outcome<T> {
  if (existing.request_hash !== request.fingerprint) {
    throw new CortexError(
      'unprocessable',
      'idempotency_key_reused',
      'this Idempotency-Key was already used for a different request',
      [{ path: 'Idempotency-Key', message: 'already used with another method, path or body' }],
    );
  }
  return { record: JSON.parse(existing.body) as T, status: existing.status, replayed: true };
}

/**
 * Decides and commits a change. `decide` reads the current state and returns the new
 * record with the mutation that writes it; it is called again (with fresh reads) when a
 * concurrent update wins the race, so it must not have side effects of its own.
 */
export async function commit<T>(
  store: Store,
  clock: Clock,
  principal: Principal,
  idempotency: IdempotencyRequest | undefined,
  decide: () => Promise<Decision<T>>,
): Promise<Outcome<T>> {
  if (idempotency) {
    const existing = await store.getIdempotency(principal.name, idempotency.key);
    if (existing) return replay<T>(existing, idempotency);
  }
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const decision = await decide();
    const mutation: Mutation = { ...decision.mutation };
    if (idempotency) {
      mutation.idempotency = {
        principal: principal.name,
        key: idempotency.key,
        request_hash: idempotency.fingerprint,
        status: decision.status,
        body: JSON.stringify(decision.record),
        created_at: clock.now(),
      };
    }
    try {
      await store.apply(mutation);
      return { record: decision.record, status: decision.status, replayed: false };
    } catch (error) {
      if (error instanceof IdempotencyKeyTaken && idempotency) return replay<T>(error.existing, idempotency);
      if (error instanceof VersionConflict) continue;
      throw error;
    }
  }
  throw conflict('concurrent_update', 'the record kept changing concurrently; try again');
}
