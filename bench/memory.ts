// 5. Resident memory of the service process with 100,000 open handoffs.
//
// The service (a child process, fresh SQLite file) is measured idle right after start,
// then after 1,000 creates (warm: code compiled, pools filled), then after 100,000
// handoffs created over HTTP and left open (pending, each with an armed claim deadline an
// hour away), after a short settle. RSS is VmRSS from /proc; the peak is VmHWM.
// No target was given for this one; this suite holds the service to at most twice its
// RSS at start, i.e. open handoffs live in SQLite, not in the process.

import {
  TOKENS,
  buildRequest,
  expectStatus,
  fmt,
  mib,
  rssOf,
  runLoad,
  sleep,
  startService,
  tempDir,
  type Benchmark,
  type ServerProcess,
} from './lib.ts';

const OPEN_HANDOFFS = 100_000;
const WARM = 1_000;
const CONNECTIONS = 16;
const CREATE_LIMIT_MS = 120_000;
const SETTLE_MS = 2_000;
const TARGET_RATIO = 2;

async function create(service: ServerProcess, count: number, offset: number): Promise<number> {
  const port = service.port;
  const token = TOKENS['infrastructure-contractor'];
  const result = await runLoad({
    port,
    connections: CONNECTIONS,
    warmupMs: 0,
    durationMs: CREATE_LIMIT_MS,
    maxIterations: count,
    iteration: async (connection, index) => {
      const reply = await connection.request(
        buildRequest('POST', '/v1/handoffs', {
          token,
          body: {
            from_contractor: 'infrastructure-contractor',
            to_contractor: index % 2 === 0 ? 'talos-contractor' : 'n8n-contractor',
            task_id: `task-${offset + index}`,
            data: { vm_ids: [100 + (index % 50)], endpoints: ['10.0.0.11'] },
            claim_timeout: 3_600,
          },
          port,
        }),
      );
      if (reply.status !== 201) expectStatus(reply, 201, 'create');
      return 1;
    },
  });
  if (result.errors) throw new Error(`${result.errors} creates failed: ${result.firstError}`);
  return result.operations;
}

export const memory: Benchmark = {
  name: 'rss',
  title: `service RSS with ${fmt(OPEN_HANDOFFS)} open handoffs`,
  async run(log) {
    const dir = tempDir('cortex-bench-rss-');
    let service: ServerProcess | null = null;
    try {
      service = await startService(`${dir.path}/cortex.sqlite`);
      await sleep(SETTLE_MS);
      const atStart = rssOf(service.pid);
      const warm = await create(service, WARM, 0);
      await sleep(SETTLE_MS);
      const warmed = rssOf(service.pid);
      const t0 = Date.now();
      const made = warm + (await create(service, OPEN_HANDOFFS - WARM, WARM));
      const createSeconds = (Date.now() - t0) / 1000;
      await sleep(SETTLE_MS);
      const loaded = rssOf(service.pid);
      if (made !== OPEN_HANDOFFS) throw new Error(`only ${made} of ${OPEN_HANDOFFS} handoffs were created within the time limit`);
      const ratio = loaded.rss / atStart.rss;
      log(
        `RSS at start ${mib(atStart.rss)}; after ${fmt(WARM)} creates ${mib(warmed.rss)}; with ${fmt(OPEN_HANDOFFS)} open handoffs ` +
          `${mib(loaded.rss)} (peak ${mib(loaded.peak)}), ${fmt(ratio, 2)}× start; the ${fmt(OPEN_HANDOFFS - WARM)} creates over HTTP took ${fmt(createSeconds, 1)} s`,
      );
      return [
        { bench: 'rss', metric: 'service RSS at start (baseline)', value: mib(atStart.rss), target: '—', pass: null },
        { bench: 'rss', metric: `service RSS, ${fmt(OPEN_HANDOFFS / 1000)}k open handoffs`, value: `${mib(loaded.rss)} (peak ${mib(loaded.peak)})`, target: '—', pass: null },
        { bench: 'rss', metric: `RSS ${fmt(OPEN_HANDOFFS / 1000)}k open / start`, value: fmt(ratio, 2), target: `≤ ${fmt(TARGET_RATIO, 1)} (suite's own)`, pass: ratio <= TARGET_RATIO },
      ];
    } finally {
      await service?.stop();
      dir.remove();
    }
  },
};
