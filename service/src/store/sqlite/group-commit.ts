// Group commit for Store.apply on SQLite. better-sqlite3 is synchronous, so nothing can
// arrive while a commit runs; what piles up meanwhile (requests read in the next poll of
// the event loop, the sweeper's firings in flight) queues here, and one setImmediate later
// the whole queue commits in ONE IMMEDIATE transaction, each mutation inside its own
// SAVEPOINT. A mutation that throws (VersionConflict, DuplicateRecord, IdempotencyKeyTaken,
// ConcurrencyKeyTaken, or anything else) is rolled back to its savepoint and rejects only
// its own caller; the others go on. Every caller — resolved or rejected — is answered only
// after the shared COMMIT, so no acknowledgement precedes durability, and a rejection that
// names another mutation's row (IdempotencyKeyTaken) names a committed one. If the group
// as a whole cannot commit (BEGIN or COMMIT fails, or SQLite abandoned the transaction
// after an I/O, full-disk or out-of-memory error), every caller is rejected with that error
// and nothing of the group is written.
//
// Why: a commit costs the same WAL work whatever it holds — the pages of the B-trees it
// touched (every secondary index leaf, the stats rows, the sequence row) plus the commit
// frame — and most of those pages are shared by the mutations of a group, so N mutations
// in one transaction write far fewer pages than N transactions.

import type Database from 'better-sqlite3';
import type { Mutation } from '../store.ts';
import type { MutationWriter } from './writes.ts';

/** Most mutations committed in one transaction; the rest wait for the next turn. */
export const MAX_GROUP_SIZE = 64;

interface Waiter {
  mutation: Mutation;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** Counters for tests and diagnostics. */
export interface GroupCommitStats {
  /** Transactions committed or attempted. */
  groups: number;
  /** Mutations submitted to them. */
  mutations: number;
  /** The most mutations one transaction held. */
  largest: number;
}

export class GroupCommitter {
  private readonly db: Database.Database;
  private readonly writer: MutationWriter;
  private readonly maxGroup: number;
  private queue: Waiter[] = [];
  private scheduled = false;
  private readonly applyOne: Database.Transaction<(mutation: Mutation, now: number) => void>;
  private readonly applyGroup: Database.Transaction<(waiters: Waiter[], now: number) => Map<number, unknown>>;
  readonly stats: GroupCommitStats = { groups: 0, mutations: 0, largest: 0 };

  constructor(db: Database.Database, writer: MutationWriter, maxGroup = MAX_GROUP_SIZE) {
    this.db = db;
    this.writer = writer;
    this.maxGroup = Math.max(1, Math.floor(maxGroup));
    // Called inside applyGroup's transaction, better-sqlite3 runs it as SAVEPOINT … RELEASE,
    // and as ROLLBACK TO … RELEASE when it throws.
    this.applyOne = db.transaction((mutation: Mutation, now: number) => writer.apply(mutation, now));
    this.applyGroup = db.transaction((waiters: Waiter[], now: number) => {
      const failures = new Map<number, unknown>();
      // Alone in its transaction, a mutation needs no savepoint: its failure rolls back
      // the transaction, which is all it wrote (the caller gets the error either way).
      if (waiters.length === 1) {
        writer.apply(waiters[0]!.mutation, now);
        return failures;
      }
      for (let i = 0; i < waiters.length; i++) {
        try {
          this.applyOne(waiters[i]!.mutation, now);
        } catch (error) {
          // Some errors make SQLite roll back the whole transaction: what the group wrote
          // so far is gone, so the group fails as a whole (the statements after this would
          // otherwise run in autocommit mode).
          if (!this.db.inTransaction) throw error;
          failures.set(i, error);
          // Its rolled-back subscriptions may sit in the fan-out cache.
          if (waiters[i]!.mutation.subscriptions?.length) this.writer.invalidateSubscriptions();
        }
      }
      return failures;
    });
  }

  /** Queues a mutation for the next group; settles after that group's COMMIT. */
  submit(mutation: Mutation): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ mutation, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(this.onTurn);
      }
    });
  }

  /** Commits everything queued, now (before the connection closes). */
  drain(): void {
    while (this.queue.length > 0) this.commitNext();
  }

  private readonly onTurn = (): void => {
    this.scheduled = false;
    this.commitNext();
    // More than one group's worth queued: the rest in the next turn, after pending I/O.
    if (this.queue.length > 0 && !this.scheduled) {
      this.scheduled = true;
      setImmediate(this.onTurn);
    }
  };

  private commitNext(): void {
    const queue = this.queue;
    if (queue.length === 0) return;
    const waiters = queue.length <= this.maxGroup ? queue : queue.slice(0, this.maxGroup);
    this.queue = waiters === queue ? [] : queue.slice(this.maxGroup);
    this.stats.groups++;
    this.stats.mutations += waiters.length;
    if (waiters.length > this.stats.largest) this.stats.largest = waiters.length;
    let failures: Map<number, unknown>;
    try {
      failures = this.applyGroup.immediate(waiters, Date.now());
    } catch (error) {
      // Nothing of the group was committed.
      this.writer.invalidateSubscriptions();
      for (const waiter of waiters) waiter.reject(error);
      return;
    }
    for (let i = 0; i < waiters.length; i++) {
      if (failures.has(i)) waiters[i]!.reject(failures.get(i));
      else waiters[i]!.resolve();
    }
  }
}
