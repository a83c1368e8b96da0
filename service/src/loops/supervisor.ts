// A background loop: runs `tick` now and then, never two ticks at once, and can be
// woken early. `stop` waits for the tick in flight. A tick returns the time it wants
// to run again (epoch ms) or nothing for "after the interval".

import type { Logger } from '../log.ts';

export interface LoopOptions {
  name: string;
  intervalMs: number;
  tick: () => Promise<number | void>;
  logger: Logger;
}

export class Loop {
  private readonly options: LoopOptions;
  private timer: NodeJS.Timeout | null = null;
  private wakeAtMs = Number.POSITIVE_INFINITY;
  private inFlight: Promise<void> | null = null;
  private rerun = false;
  private running = false;

  constructor(options: LoopOptions) {
    this.options = options;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule(Date.now());
  }

  /** Asks for a tick at `atMs` (default: now) if that is earlier than the one planned. */
  wake(atMs: number = Date.now()): void {
    if (!this.running) return;
    if (this.inFlight) {
      if (atMs <= Date.now()) this.rerun = true;
      else if (atMs < this.wakeAtMs) this.schedule(atMs);
      return;
    }
    if (atMs < this.wakeAtMs) this.schedule(atMs);
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.inFlight;
  }

  /** Runs one tick now (tests, shutdown drains); waits for one in flight first. */
  async runOnce(): Promise<void> {
    while (this.inFlight) await this.inFlight;
    await this.execute();
  }

  private schedule(atMs: number): void {
    if (!this.running) return;
    if (this.timer) clearTimeout(this.timer);
    this.wakeAtMs = atMs;
    const delay = Math.max(0, Math.min(atMs - Date.now(), this.options.intervalMs));
    this.timer = setTimeout(() => {
      this.timer = null;
      this.wakeAtMs = Number.POSITIVE_INFINITY;
      void this.execute();
    }, delay);
    this.timer.unref?.();
  }

  private async execute(): Promise<void> {
    if (this.inFlight) {
      this.rerun = true;
      return;
    }
    let next: number | void = undefined;
    this.inFlight = (async () => {
      try {
        next = await this.options.tick();
      } catch (error) {
        this.options.logger.error({ err: error, loop: this.options.name }, 'loop tick failed');
      }
    })();
    await this.inFlight;
    this.inFlight = null;
    if (!this.running) return;
    if (this.rerun) {
      this.rerun = false;
      this.schedule(Date.now());
      return;
    }
    const interval = Date.now() + this.options.intervalMs;
    const target = typeof next === 'number' ? Math.min(next, interval) : interval;
    if (target < this.wakeAtMs) this.schedule(target);
  }
}
