// Worker tasks (PVE::RPCEnvironment->fork_worker): every long operation answers with a UPID
// at once and runs in the background; its status is `running` until it stops with an exit
// status of "OK", "WARNINGS: N" or the error text, and its log ends with "TASK OK",
// "TASK WARNINGS: N" or "TASK ERROR: <text>".

export interface TaskRecord {
  upid: string;
  node: string;
  pid: number;
  pstart: number;
  starttime: number;
  type: string;
  id: string;
  user: string;
  status: 'running' | 'stopped';
  exitstatus?: string;
  endtime?: number;
  log: string[];
  startedAtMs: number;
  endedAtMs?: number;
}

export interface TaskContext {
  readonly upid: string;
  log(line: string): void;
  /** A warning line; the task then ends with "WARNINGS: N" unless it fails. */
  warn(line: string): void;
  /** Simulated work: waits `ms` (scaled by the simulator's time scale). */
  sleep(ms: number): Promise<void>;
}

export interface TaskSpec {
  node: string;
  type: string;
  id: string;
  user: string;
  /** The work; throwing ends the task with the error's message as exit status. */
  run: (ctx: TaskContext) => Promise<void>;
  /** Undo after a failure (e.g. remove a clone's half-created target). */
  cleanup?: () => void;
}

/** A test's instruction for the next matching task(s): end with this exit status (and log). */
export interface ScriptedTask {
  type?: string;
  id?: string | number;
  /** "OK", "WARNINGS: N" (work is done, N warnings logged) or an error text (no work done). */
  exit: string;
  log?: string[];
  /** How many matching tasks this applies to (default 1). */
  count?: number;
}

export class TaskManager {
  readonly tasks = new Map<string, TaskRecord>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly waiters = new Set<() => void>();
  private readonly scripted: Array<ScriptedTask & { remaining: number }> = [];
  private pid = 0x2f00 + Math.floor(Math.random() * 0x1000);
  private stopped = false;
  /** Milliseconds of simulated work are multiplied by this. */
  timeScale: number;
  /** Sum of (end - start) of finished tasks, by type. */
  readonly durationByType = new Map<string, number>();

  constructor(timeScale = 1) {
    this.timeScale = timeScale;
  }

  script(task: ScriptedTask): void {
    this.scripted.push({ ...task, remaining: task.count ?? 1 });
  }

  get running(): number {
    let n = 0;
    for (const task of this.tasks.values()) if (task.status === 'running') n++;
    return n;
  }

  start(spec: TaskSpec): string {
    const pid = ++this.pid;
    const pstart = 100_000 + Math.floor(Math.random() * 900_000);
    const starttime = Math.floor(Date.now() / 1000);
    const hex = (n: number) => n.toString(16).toUpperCase().padStart(8, '0');
    const upid = `UPID:${spec.node}:${hex(pid)}:${hex(pstart)}:${hex(starttime)}:${spec.type}:${spec.id}:${spec.user}:`;
    const record: TaskRecord = {
      upid, node: spec.node, pid, pstart, starttime, type: spec.type, id: spec.id, user: spec.user,
      status: 'running', log: [], startedAtMs: Date.now(),
    };
    this.tasks.set(upid, record);
    const script = this.takeScript(spec);
    void this.execute(record, spec, script);
    return upid;
  }

  private takeScript(spec: TaskSpec): ScriptedTask | undefined {
    const index = this.scripted.findIndex((s) => (s.type === undefined || s.type === spec.type) && (s.id === undefined || String(s.id) === spec.id));
    if (index < 0) return undefined;
    const script = this.scripted[index]!;
    script.remaining -= 1;
    if (script.remaining <= 0) this.scripted.splice(index, 1);
    return script;
  }

  private async execute(record: TaskRecord, spec: TaskSpec, script: ScriptedTask | undefined): Promise<void> {
    let warnings = 0;
    const ctx: TaskContext = {
      upid: record.upid,
      log: (line) => void record.log.push(line),
      warn: (line) => {
        warnings += 1;
        record.log.push(`WARN: ${line}`);
      },
      sleep: (ms) => this.sleep(ms),
    };
    let exit: string;
    try {
      const scriptedError = script && script.exit !== 'OK' && !script.exit.startsWith('WARNINGS');
      if (scriptedError) {
        for (const line of script.log ?? []) ctx.log(line);
        await ctx.sleep(200);
        throw new Error(script.exit);
      }
      await spec.run(ctx);
      if (script?.exit.startsWith('WARNINGS')) {
        const count = Number(/\d+/.exec(script.exit)?.[0] ?? '1');
        const lines = script.log ?? [];
        for (let i = 0; i < count; i++) ctx.warn(lines[i] ?? `simulated warning ${i + 1}`);
      }
      exit = warnings > 0 ? `WARNINGS: ${warnings}` : 'OK';
      record.log.push(warnings > 0 ? `TASK WARNINGS: ${warnings}` : 'TASK OK');
    } catch (error) {
      if (this.stopped) return;
      exit = (error as Error).message.replace(/\n+$/, '');
      spec.cleanup?.();
      record.log.push(`TASK ERROR: ${exit}`);
    }
    if (this.stopped) return;
    record.status = 'stopped';
    record.exitstatus = exit;
    record.endedAtMs = Date.now();
    record.endtime = Math.floor(record.endedAtMs / 1000);
    this.durationByType.set(record.type, (this.durationByType.get(record.type) ?? 0) + (record.endedAtMs - record.startedAtMs));
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopped) return new Promise(() => {}); // never resolves: the simulator is gone
    return new Promise<void>((resolve) => {
      const done = () => {
        this.timers.delete(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, Math.round(ms * this.timeScale)));
      this.timers.add(timer);
      this.waiters.add(done);
    });
  }

  /** Log lines as the API returns them: [{n, t}] from line `start` (0-based), at most `limit`. */
  logOf(upid: string, start = 0, limit = 50): { lines: Array<{ n: number; t: string }>; total: number } | undefined {
    const task = this.tasks.get(upid);
    if (!task) return undefined;
    const lines = task.log.slice(start, start + limit).map((t, i) => ({ n: start + i + 1, t }));
    return { lines, total: task.log.length };
  }

  stop(): void {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.waiters.clear();
  }
}

/** Splits a UPID into its fields; undefined when it is not one. */
export function parseUpid(upid: string): { node: string; type: string; id: string; user: string } | undefined {
  const m = /^UPID:([a-zA-Z0-9-]+):([0-9A-F]{8}):([0-9A-F]{8,9}):([0-9A-F]{8}):([^:]+):([^:]*):([^:]+):$/.exec(upid);
  if (!m) return undefined;
  return { node: m[1]!, type: m[5]!, id: m[6]!, user: m[7]! };
}
