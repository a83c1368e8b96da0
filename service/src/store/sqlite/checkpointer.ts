// Moves most WAL checkpoint work off the event loop. With synchronous=NORMAL a commit
// does not fsync; the fsyncs happen when the WAL is copied back into the database file (a
// checkpoint). Left to SQLite, that runs inside whichever commit crosses the (1000-frame)
// threshold and blocks the event loop while it copies and fsyncs. Here a worker thread with
// its own connection runs PASSIVE checkpoints on a timer: they never block the writer and
// do the copying and the fsyncs on another thread.
//
// A passive checkpoint cannot start the WAL over while commits keep arriving (the end of
// the WAL moves on while it copies), so the store's connection keeps an automatic
// checkpoint with a higher threshold: when it fires, the worker has already copied nearly
// everything, so it only copies the last frames, after which the next commit restarts
// the WAL from its beginning.

import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

const requireFromHere = createRequire(import.meta.url);

export interface CheckpointerOptions {
  intervalMs: number;
}

export interface CheckpointResult {
  /** Frames in the WAL, and how many of them are now in the database file. */
  log: number;
  checkpointed: number;
}

// CommonJS, evaluated in the worker: it loads the driver by the absolute path resolved
// here, so it works the same from src/ (type stripping) and from the compiled dist/.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.path);
const passive = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
let stopped = false;
let lastLog = -1;
const timer = setInterval(() => {
  if (stopped) return;
  try {
    const row = passive.get();
    if (row && row.log > 0 && row.log !== lastLog) {
      lastLog = row.log;
      parentPort.postMessage({ log: row.log, checkpointed: row.checkpointed });
    }
  } catch {
    // Busy or closing: the next tick tries again.
  }
}, workerData.intervalMs);
parentPort.on('message', (message) => {
  if (message !== 'stop' || stopped) return;
  stopped = true;
  clearInterval(timer);
  try { db.close(); } catch { /* already closed */ }
  parentPort.close();
});
`;

export class Checkpointer {
  private readonly worker: Worker;
  private readonly exited: Promise<void>;
  /** The last checkpoint that found frames to copy (for tests and diagnostics). */
  last: CheckpointResult | null = null;

  constructor(path: string, options: CheckpointerOptions) {
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { driver: requireFromHere.resolve('better-sqlite3'), path, ...options },
    });
    // It never keeps the process alive on its own; if it fails, the backstop threshold applies.
    this.worker.unref();
    this.worker.on('error', () => {});
    this.worker.on('message', (result: CheckpointResult) => {
      this.last = result;
    });
    this.exited = new Promise((resolve) => this.worker.once('exit', () => resolve()));
  }

  /** Closes the worker's connection and ends the thread. */
  async stop(): Promise<void> {
    this.worker.ref(); // keep the process alive until the worker has closed its connection
    this.worker.postMessage('stop');
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(resolve, 5000, 'timeout');
    });
    const outcome = await Promise.race([this.exited, timeout]);
    clearTimeout(timer);
    if (outcome === 'timeout') await this.worker.terminate();
  }
}
