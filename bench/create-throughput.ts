// 1. Handoff-create throughput as a ratio of a bare Express JSON endpoint.
//
// Both servers run as child processes (the service as `node service/src/main.ts` on a
// fresh SQLite file, the baseline as bench/bare-express.ts); this process is the load
// generator, on keep-alive connections, with the same concurrency, warm-up, duration and
// request bodies for both. Rounds alternate (bare, service, bare, service) so that drift
// of the machine hits both alike; the ratio is of the summed rates.

import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import {
  TOKENS,
  buildRequest,
  expectStatus,
  fmt,
  requestOnce,
  runLoad,
  startNodeServer,
  startService,
  tempDir,
  type BenchResult,
  type Benchmark,
  type LoadResult,
  type ServerProcess,
} from './lib.ts';

const CONNECTIONS = 32;
const WARMUP_MS = 2_000;
const DURATION_MS = 8_000;
const ROUNDS = 2;
const MAX_ITERATIONS = 2_000_000;
const TARGET_RATIO = 0.7;

const BARE = fileURLToPath(new URL('./bare-express.ts', import.meta.url));

function expressVersion(from: string): string {
  const require = createRequire(from);
  return (require('express/package.json') as { version: string }).version;
}

function createBody(index: number) {
  return {
    from_contractor: 'infrastructure-contractor',
    to_contractor: 'talos-contractor',
    task_id: `task-${index}`,
    data: { vm_ids: [101, 102], endpoints: ['10.0.0.11'], cluster: 'bench' },
  };
}

function load(server: ServerProcess): Promise<LoadResult> {
  const token = TOKENS['infrastructure-contractor'];
  return runLoad({
    port: server.port,
    connections: CONNECTIONS,
    warmupMs: WARMUP_MS,
    durationMs: DURATION_MS,
    maxIterations: MAX_ITERATIONS,
    serverPid: server.pid,
    iteration: async (connection, index) => {
      const reply = await connection.request(buildRequest('POST', '/v1/handoffs', { token, body: createBody(index), port: server.port }));
      if (reply.status !== 201) expectStatus(reply, 201, `${server.name} create`);
      return 1;
    },
  });
}

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / Math.max(values.length, 1);

const describe = (r: LoadResult) =>
  `${fmt(r.perSecond)} req/s (p50 ${fmt(r.p50, 2)} ms, p99 ${fmt(r.p99, 2)} ms; server CPU ${fmt(r.serverCpu * 100)}% of a core, ` +
  `${fmt(r.serverCpuPerOp)} µs/request; client CPU ${fmt(r.clientCpu * 100)}%; other load ${fmt(r.otherCpu, 2)} cores` +
  `${r.errors ? `; ${r.errors} errors: ${r.firstError}` : ''})`;

export const createThroughput: Benchmark = {
  name: 'create',
  title: 'handoff-create throughput vs a bare Express JSON endpoint',
  async run(log) {
    const serviceExpress = expressVersion(fileURLToPath(new URL('../service/src/http/app.ts', import.meta.url)));
    const bareExpress = expressVersion(BARE);
    log(`express: service ${serviceExpress}, bare endpoint ${bareExpress}; ${CONNECTIONS} keep-alive connections, ${WARMUP_MS / 1000} s warm-up + ${DURATION_MS / 1000} s measured, ${ROUNDS} alternating rounds`);
    if (serviceExpress !== bareExpress) throw new Error('the bare endpoint must use the same express as the service');
    const dir = tempDir('cortex-bench-create-');
    let bare: ServerProcess | null = null;
    let service: ServerProcess | null = null;
    try {
      bare = await startNodeServer('bare express', BARE, {}, '/healthz');
      service = await startService(`${dir.path}/cortex.sqlite`);
      const sizes = await Promise.all(
        [bare, service].map(async (server) => {
          const reply = await requestOnce(server.port, 'POST', '/v1/handoffs', {
            token: TOKENS['infrastructure-contractor'],
            body: createBody(0),
          });
          if (reply.status !== 201) throw new Error(`${server.name}: HTTP ${reply.status}: ${reply.text.slice(0, 300)}`);
          return Buffer.byteLength(reply.text);
        }),
      );
      log(`response body: bare ${sizes[0]} bytes, service ${sizes[1]} bytes`);
      const other: number[] = [];
      let bareOps = 0;
      let bareSeconds = 0;
      let serviceOps = 0;
      let serviceSeconds = 0;
      const cpuPerRequest = { bare: [] as number[], service: [] as number[] };
      for (let round = 1; round <= ROUNDS; round++) {
        const b = await load(bare);
        log(`round ${round} bare express:  ${describe(b)}`);
        const s = await load(service);
        log(`round ${round} cortex create: ${describe(s)}`);
        if (b.errors || s.errors) throw new Error(`requests failed: ${b.firstError ?? s.firstError}`);
        other.push(b.otherCpu, s.otherCpu);
        cpuPerRequest.bare.push(b.serverCpuPerOp);
        cpuPerRequest.service.push(s.serverCpuPerOp);
        bareOps += b.operations;
        bareSeconds += b.seconds;
        serviceOps += s.operations;
        serviceSeconds += s.seconds;
      }
      const bareRate = bareOps / bareSeconds;
      const serviceRate = serviceOps / serviceSeconds;
      const ratio = serviceRate / bareRate;
      log(`bare express ${fmt(bareRate)} req/s, cortex create ${fmt(serviceRate)} req/s, ratio ${fmt(ratio, 2)}`);
      const results: BenchResult[] = [
        { bench: 'create', metric: 'bare express POST (baseline)', value: `${fmt(bareRate)} req/s`, target: '—', pass: null },
        { bench: 'create', metric: 'cortex POST /v1/handoffs', value: `${fmt(serviceRate)} req/s`, target: '—', pass: null },
        {
          bench: 'create',
          metric: 'server CPU per request, bare / cortex',
          value: `${fmt(mean(cpuPerRequest.bare))} / ${fmt(mean(cpuPerRequest.service))} µs`,
          target: '—',
          pass: null,
        },
        {
          bench: 'create',
          metric: 'create / bare express',
          value: fmt(ratio, 2),
          target: `≥ ${fmt(TARGET_RATIO, 2)}`,
          pass: ratio >= TARGET_RATIO,
          otherLoad: mean(other),
        },
      ];
      return results;
    } finally {
      await Promise.all([bare?.stop(), service?.stop()]);
      dir.remove();
    }
  },
};
