// Per-guest configuration file locks, as PVE::AbstractConfig->lock_config does with flock():
// one holder at a time, others wait up to the lock wait (10 s by default) and then die with
// "can't lock file '<path>' - got timeout". Waiters are served in arrival order.

export class LockTimeout extends Error {}

interface Waiter {
  grant: () => void;
  fail: (error: Error) => void;
  timer: NodeJS.Timeout;
}

interface LockState {
  held: boolean;
  queue: Waiter[];
}

export class LockManager {
  private readonly locks = new Map<string, LockState>();
  /** How many acquisitions ended in a timeout (the benchmark and tests read it). */
  timeouts = 0;
  /** Acquisitions that had to wait for another holder. */
  contended = 0;

  /** Acquires `key` (waiting up to waitMs), runs fn, releases. Throws LockTimeout with the PVE message. */
  async with<T>(key: string, file: string, waitMs: number, fn: () => Promise<T> | T): Promise<T> {
    await this.acquire(key, file, waitMs);
    try {
      return await fn();
    } finally {
      this.release(key);
    }
  }

  isHeld(key: string): boolean {
    return this.locks.get(key)?.held === true;
  }

  private acquire(key: string, file: string, waitMs: number): Promise<void> {
    let state = this.locks.get(key);
    if (!state) {
      state = { held: false, queue: [] };
      this.locks.set(key, state);
    }
    if (!state.held) {
      state.held = true;
      return Promise.resolve();
    }
    this.contended += 1;
    const lock = state;
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        grant: () => {
          clearTimeout(waiter.timer);
          resolve();
        },
        fail: (error) => {
          clearTimeout(waiter.timer);
          reject(error);
        },
        timer: setTimeout(() => {
          lock.queue = lock.queue.filter((w) => w !== waiter);
          this.timeouts += 1;
          reject(new LockTimeout(`can't lock file '${file}' - got timeout`));
        }, waitMs),
      };
      lock.queue.push(waiter);
    });
  }

  private release(key: string): void {
    const state = this.locks.get(key);
    if (!state) return;
    const next = state.queue.shift();
    if (next) {
      next.grant(); // stays held, handed over
      return;
    }
    state.held = false;
    this.locks.delete(key);
  }

  /** Rejects every waiter (simulator shutdown). */
  clear(): void {
    for (const state of this.locks.values()) {
      for (const waiter of state.queue) waiter.fail(new LockTimeout('simulator stopped'));
    }
    this.locks.clear();
  }
}
