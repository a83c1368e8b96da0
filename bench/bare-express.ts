// The baseline of the create-throughput benchmark, run as its own process: a bare
// Express app (the same express package the service uses) whose POST /v1/handoffs parses
// the JSON body and answers 201 with a JSON object shaped and sized like the service's
// handoff view. No auth, validation, storage or logging: the floor for any JSON endpoint.

import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import express from 'express';

const app = express();
app.disable('x-powered-by');
app.set('etag', false);
app.use(express.json({ limit: '1mb', strict: true }));

app.get('/healthz', (_req, res) => {
  res.json({ status: 'ok' });
});

app.post('/v1/handoffs', (req, res) => {
  const body = req.body as Record<string, unknown>;
  const now = new Date().toISOString();
  res.status(201).json({
    handoff_id: `hof_${randomUUID().replaceAll('-', '')}`,
    from_contractor: body.from_contractor,
    to_contractor: body.to_contractor,
    task_id: body.task_id,
    data: body.data ?? {},
    status: 'pending',
    run_id: null,
    phase_id: null,
    result: null,
    error: null,
    progress: null,
    claim_timeout: null,
    completion_timeout: null,
    heartbeat_timeout: null,
    claim_deadline: null,
    completion_deadline: null,
    heartbeat_deadline: null,
    version: 1,
    created_at: now,
    updated_at: now,
    claimed_at: null,
    finished_at: null,
    last_heartbeat_at: null,
  });
});

const server = createServer(app);
server.keepAliveTimeout = 5_000; // as the service sets it
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1');
const stop = () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
