// 2. The full handoff lifecycle rate: create (as the sender) → claim → complete (as the
// receiver), each client doing one handoff after another, a few clients at once. Every
// handoff is three transitions; the rate counts transitions of handoffs completed inside
// the measured window. The service runs as a child process on a fresh SQLite file.

import {
  TOKENS,
  buildRequest,
  expectStatus,
  fmt,
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
      const sender = TOKENS['infrastructure-contractor'];
      const receiver = TOKENS['talos-contractor'];
      const claim = (id: string) => buildRequest('POST', `/v1/handoffs/${id}/claim`, { token: receiver, body: {}, port });
      const complete = (id: string) =>
        buildRequest('POST', `/v1/handoffs/${id}/complete`, { token: receiver, body: { result: { kubeconfig_ref: `k-${id.slice(-6)}` } }, port });
      const result = await runLoad({
        port,
        connections: CLIENTS,
        warmupMs: WARMUP_MS,
        durationMs: DURATION_MS,
        maxIterations: MAX_HANDOFFS,
        serverPid: service.pid,
        iteration: async (connection, index) => {
          const created = expectStatus(
            await connection.request(
              buildRequest('POST', '/v1/handoffs', {
                token: sender,
                body: {
                  from_contractor: 'infrastructure-contractor',
                  to_contractor: 'talos-contractor',
                  task_id: `task-${index}`,
                  data: { vm_ids: [101, 102] },
                  claim_timeout: 300,
                  completion_timeout: 600,
                },
                port,
              }),
            ),
            201,
            'create',
          ) as { handoff_id: string };
          const claimed = await connection.request(claim(created.handoff_id));
          if (claimed.status !== 200) expectStatus(claimed, 200, 'claim');
          const done = await connection.request(complete(created.handoff_id));
          if (done.status !== 200) expectStatus(done, 200, 'complete');
          return 3;
        },
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
