// 2. The full handoff lifecycle rate: create (as the sender) → claim → complete (as the
// receiver), each client doing one handoff after another, a few clients at once. Every
// handoff is three transitions; the rate counts transitions of handoffs completed inside
// the measured window. The service runs as a child process on a fresh SQLite file.

import {
  fmt,
  handoffLifecycle,
  runLoad,
  startService,
  tempDir,
  type Benchmark,
  type ServerProcess,
} from './lib.ts';

const CLIENTS = 8;
const WARMUP_MS = 2_000;
const DURATION_MS = 10_000;
const MAX_HANDOFFS = 500_000;
const TARGET = 3_000;

export const lifecycle: Benchmark = {
  name: 'lifecycle',
  title: 'create → claim → complete lifecycle rate',
  async run(log) {
    const dir = tempDir('cortex-bench-lifecycle-');
    let service: ServerProcess | null = null;
    try {
      service = await startService(`${dir.path}/cortex.sqlite`);
      const port = service.port;
      const result = await runLoad({
        port,
        connections: CLIENTS,
        warmupMs: WARMUP_MS,
        durationMs: DURATION_MS,
        maxIterations: MAX_HANDOFFS,
        serverPid: service.pid,
        iteration: (connection, index) => handoffLifecycle(connection, port, `task-${index}`),
      });
      if (result.errors) throw new Error(`${result.errors} lifecycles failed: ${result.firstError}`);
      log(
        `${CLIENTS} clients, ${WARMUP_MS / 1000} s warm-up + ${DURATION_MS / 1000} s: ${fmt(result.iterations)} handoffs completed, ` +
          `${fmt(result.perSecond)} transitions/s (${fmt(result.perSecond / 3)} handoffs/s); ` +
          `lifecycle p50 ${fmt(result.p50, 2)} ms, p99 ${fmt(result.p99, 2)} ms; server CPU ${fmt(result.serverCpu * 100)}% of a core ` +
          `(${fmt(result.serverCpuPerOp)} µs/transition), client ${fmt(result.clientCpu * 100)}%, other load ${fmt(result.otherCpu, 2)} cores`,
      );
      return [
        {
          bench: 'lifecycle',
          metric: `create→claim→complete, ${CLIENTS} clients`,
          value: `${fmt(result.perSecond)} transitions/s`,
          target: `≥ ${fmt(TARGET)}/s`,
          pass: result.perSecond >= TARGET,
          otherLoad: result.otherCpu,
        },
      ];
    } finally {
      await service?.stop();
      dir.remove();
    }
  },
};
