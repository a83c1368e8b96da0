// Property-based fuzzing of the HTTP surface with fast-check: random and malformed
// requests (methods, paths built from the real route templates of GET /openapi.json,
// query strings, JSON-ish bodies, headers) against an in-process service. The service
// must never answer 5xx, every 4xx must carry the error JSON, and afterwards it must be
// ready and its log free of unhandled errors.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { ADMIN_TOKEN, TOKENS, handoffBody, startTestService, type TestService } from './harness.ts';

const SEED = 20_261_127;
const GENERAL_RUNS = 2000;
const BODY_RUNS = 1200;
/** Each property stops (and fails) if it runs longer than this; both together stay well under 60 s. */
const PROPERTY_TIME_LIMIT_MS = 25_000;
const REQUEST_TIMEOUT_MS = 10_000;
/** Where fuzzed subscriptions point: loopback, a port nothing listens on. */
const SAFE_CALLBACK_URL = 'http://127.0.0.1:9/fuzz';

const DEFINITION = JSON.parse(
  readFileSync(new URL('../../templates/definitions/build-k8s-cluster.json', import.meta.url), 'utf8'),
) as Record<string, any>;

interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
}

interface FuzzResponse {
  status: number;
  contentType: string;
  text: string;
}

function send(port: number, agent: Agent, r: FuzzRequest): Promise<FuzzResponse> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method: r.method,
        path: r.path,
        agent,
        headers: { ...r.headers, ...(r.body ? { 'content-length': String(r.body.length) } : {}) },
        timeout: REQUEST_TIMEOUT_MS,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            contentType: String(res.headers['content-type'] ?? ''),
            text: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end(r.body);
  });
}

/** null when `text` is the error JSON {"error":{"code","message","details":[{"path","message"}]}}, else what is wrong. */
function errorShapeProblem(response: FuzzResponse): string | null {
  if (!/^application\/json\b/.test(response.contentType)) return `content-type ${response.contentType}`;
  let parsed: any;
  try {
    parsed = JSON.parse(response.text);
  } catch {
    return 'not JSON';
  }
  const error = parsed?.error;
  if (!parsed || typeof parsed !== 'object' || Object.keys(parsed).join() !== 'error') return 'not {error}';
  if (typeof error !== 'object' || error === null) return 'error is not an object';
  if (typeof error.code !== 'string' || error.code === '') return 'error.code';
  if (typeof error.message !== 'string') return 'error.message';
  if (!Array.isArray(error.details)) return 'error.details';
  for (const detail of error.details) {
    if (typeof detail?.path !== 'string' || typeof detail?.message !== 'string') return 'error.details[]';
  }
  return null;
}

// ---------------------------------------------------------------- the world the fuzzer aims at

interface World {
  templates: { method: string; path: string }[];
  ids: Record<string, string[]>;
}

async function seedWorld(svc: TestService): Promise<World> {
  const must = async (method: string, path: string, options: Parameters<TestService['call']>[2], status: number) => {
    const reply = await svc.call(method, path, options);
    assert.equal(reply.status, status, `${method} ${path}: ${reply.text}`);
    return reply.body;
  };
  await must('POST', '/v1/definitions', { body: DEFINITION }, 201);
  const runs = [
    await must('POST', '/v1/runs', { body: { workflow_id: DEFINITION.workflow_id, parameters: { cluster: 'a' } } }, 201),
    await must('POST', '/v1/runs', { body: { workflow_id: DEFINITION.workflow_id, dry_run: true } }, 201),
  ];
  const handoffs: string[] = [];
  for (let i = 0; i < 4; i++) {
    const created = await must('POST', '/v1/handoffs', { as: 'infrastructure-contractor', body: handoffBody({ task_id: `fuzz-${i}` }) }, 201);
    handoffs.push(created.handoff_id);
  }
  await must('POST', `/v1/handoffs/${handoffs[1]}/claim`, { as: 'talos-contractor' }, 200);
  await must('POST', `/v1/handoffs/${handoffs[2]}/claim`, { as: 'talos-contractor' }, 200);
  await must('POST', `/v1/handoffs/${handoffs[2]}/complete`, { as: 'talos-contractor', body: { result: { ok: true } } }, 200);
  const sub = await must('POST', '/v1/subscriptions', { body: { url: SAFE_CALLBACK_URL, events: ['handoff.created', 'run.started'], filter: {} } }, 201);

  const openapi = (await svc.call('GET', '/openapi.json')).body as { paths: Record<string, Record<string, unknown>> };
  const templates = Object.entries(openapi.paths).flatMap(([path, operations]) =>
    Object.keys(operations).map((method) => ({ method: method.toUpperCase(), path })),
  );
  assert.ok(templates.length >= 25, `openapi lists the routes (${templates.length})`);
  const phases = (DEFINITION.phases as any[]).map((p) => p.phase_id as string);
  const actions = (DEFINITION.phases as any[]).flatMap((p) => (p.actions as any[]).map((a) => a.action_id as string));
  return {
    templates,
    ids: {
      handoff: handoffs,
      run: runs.map((r) => r.run_id as string),
      subscription: [sub.subscription_id],
      phase_id: phases,
      action_id: actions,
      step_id: ['step-1', 'provision-vms', 'rb-0'],
      workflow_id: [DEFINITION.workflow_id, 'unknown-workflow'],
      version: [DEFINITION.version, '9.9.9'],
      contractor: [...Object.keys(TOKENS), 'nobody'],
    },
  };
}

// ---------------------------------------------------------------- arbitraries

const printable = (maxLength = 40) => fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength });
/** Printable ASCII and Latin-1 (what an HTTP header value may carry). */
const headerText = (maxLength = 40) =>
  fc.string({
    unit: fc.oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0xa0, max: 0xff })).map((c) => String.fromCharCode(c)),
    maxLength,
  });
const unicode = (maxLength = 30) => fc.string({ unit: 'binary', maxLength });

const weirdNumberLiteral = fc.constantFrom(
  '1e400', '-1e400', '1e-400', '-0', '0', '123456789012345678901234567890', '9007199254740993',
  '0.1', '2592000', '2592000.0001', '-1', '1E2', '3.4028236692093846e38', '5e-324',
);

/** A path segment: usually an existing id of the right kind (resolved per route), otherwise anything a client could put there. */
type Segment = { known: number } | { raw: string };
const segment: fc.Arbitrary<Segment> = fc.oneof(
  { weight: 8, arbitrary: fc.nat().map((known) => ({ known })) },
  {
    weight: 3,
    arbitrary: fc.oneof(
    { weight: 2, arbitrary: printable(30).map(encodeURIComponent) },
    { weight: 1, arbitrary: unicode(20).map((s) => encodeURIComponent(s.replace(/[\ud800-\udfff]/g, '?'))) },
    { weight: 1, arbitrary: fc.constantFrom('', '.', '..', '%', '%zz', '%E0%A4%A', '%00', '%2F', '%C0%AF', 'null', 'undefined', '__proto__', 'constructor') },
    { weight: 1, arbitrary: fc.integer({ min: 150, max: 3000 }).map((n) => 'a'.repeat(n)) },
    { weight: 1, arbitrary: weirdNumberLiteral },
    ).map((raw) => ({ raw })),
  },
);

const queryKey = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('limit', 'cursor', 'status', 'to_contractor', 'from_contractor', 'task_id', 'run_id', 'after', 'workflow_id') },
  { weight: 1, arbitrary: fc.constantFrom('limit[]', 'limit[a]', '__proto__', 'constructor', 'a[b][c]', '%zz', '') },
  { weight: 1, arbitrary: printable(12).map(encodeURIComponent) },
);
const cursorLike = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }).map((v) => Buffer.from(JSON.stringify(v) ?? 'null', 'utf8').toString('base64url')),
  fc.tuple(fc.oneof(fc.integer(), fc.double()), fc.string()).map((v) => Buffer.from(JSON.stringify(v), 'utf8').toString('base64url')),
  fc.constant(Buffer.from('[1e400,"x"]').toString('base64url')),
);
const queryValue = fc.oneof(
  { weight: 3, arbitrary: printable(20).map(encodeURIComponent) },
  { weight: 2, arbitrary: weirdNumberLiteral },
  { weight: 2, arbitrary: fc.constantFrom('pending', 'in_progress', 'completed', 'failed', 'running', 'talos-contractor', 'NaN', 'Infinity', '', '%', '%zz', '1%2C2') },
  { weight: 1, arbitrary: cursorLike },
  { weight: 1, arbitrary: unicode(20).map((s) => encodeURIComponent(s.replace(/[\ud800-\udfff]/g, '?'))) },
);
const query = fc.oneof(
  { weight: 5, arbitrary: fc.constant('') },
  {
    weight: 3,
    arbitrary: fc
      .array(fc.tuple(queryKey, fc.option(queryValue, { nil: undefined })), { minLength: 1, maxLength: 5 })
      .map((pairs) => `?${pairs.map(([k, v]) => (v === undefined ? k : `${k}=${v}`)).join('&')}`),
  },
  { weight: 1, arbitrary: fc.constantFrom('?', '?&&', '?=', '?limit=1&limit=2', '?limit=%', '?a=%E0%A4%A') },
);

/** What the body carries: kinds resolved against the route's valid body when a request is built. */
type BodySpec =
  | { kind: 'none' }
  | { kind: 'valid' }
  | { kind: 'json'; value: unknown }
  | { kind: 'mutate'; field: string; existing: number | null; value: unknown; op: 'set' | 'delete' | 'literal'; literal: string }
  | { kind: 'deep'; depth: number; shape: 'array' | 'object'; where: 'top' | 'field' }
  | { kind: 'raw'; text: string }
  | { kind: 'huge' };

const fieldName = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('from_contractor', 'to_contractor', 'task_id', 'data', 'handoff_id', 'run_id', 'phase_id',
    'claim_timeout', 'completion_timeout', 'heartbeat_timeout', 'progress', 'result', 'error', 'reason', 'workflow_id', 'version',
    'parameters', 'concurrency_key', 'dry_run', 'output', 'status', 'note', 'rollback', 'url', 'events', 'filter', 'description',
    'phases', 'contractors', 'workflow_name') },
  { weight: 1, arbitrary: fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', '', ' ', 'DATA') },
  { weight: 1, arbitrary: printable(10) },
);
const anyJson = fc.oneof(
  { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: unicode(40) },
  { weight: 1, arbitrary: fc.constantFrom(null, true, 0, -1, 1.5, '', [], {}, [[]], { a: {} }, 'x'.repeat(5000), Number.MAX_SAFE_INTEGER) },
);
const bodySpec: fc.Arbitrary<BodySpec> = fc.oneof(
  { weight: 2, arbitrary: fc.constant({ kind: 'none' as const }) },
  { weight: 10, arbitrary: fc.constant({ kind: 'valid' as const }) },
  { weight: 3, arbitrary: anyJson.map((value) => ({ kind: 'json' as const, value })) },
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('mutate' as const),
      field: fieldName,
      existing: fc.option(fc.nat(), { nil: null, freq: 3 }),
      value: anyJson,
      op: fc.constantFrom('set' as const, 'delete' as const, 'literal' as const),
      literal: weirdNumberLiteral,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('deep' as const),
      depth: fc.oneof(fc.integer({ min: 1, max: 80 }), fc.integer({ min: 80, max: 200_000 })),
      shape: fc.constantFrom('array' as const, 'object' as const),
      where: fc.constantFrom('top' as const, 'field' as const),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.oneof(
      fc.string({ maxLength: 60 }),
      fc.constantFrom('', '{', '{"a":', '{"a":1,}', '[1,2', 'null', '"str"', '1', 'true', '\ufeff{}', '{"a":"\\ud800"}', '{"a":"\\u0000"}',
        '{"a":1}{"b":2}', '{"__proto__":{"polluted":1}}', '{"constructor":{"prototype":{"x":1}}}', '\u0000', '[]', '{}'),
    ).map((text) => ({ kind: 'raw' as const, text })),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'huge' as const }) },
);

const authorization = fc.oneof(
  { weight: 14, arbitrary: fc.constantFrom(`Bearer ${ADMIN_TOKEN}`, ...Object.values(TOKENS).map((t) => `Bearer ${t}`)) },
  { weight: 1, arbitrary: fc.constantFrom(undefined, 'Bearer', 'Bearer ', 'Basic Zm9vOmJhcg==', `bearer ${ADMIN_TOKEN}`, `Bearer ${ADMIN_TOKEN} extra`, `Bearer  ${ADMIN_TOKEN}x`) },
  { weight: 1, arbitrary: headerText(60).map((t) => `Bearer ${t}`) },
);
const contentType = fc.oneof(
  { weight: 12, arbitrary: fc.constant('application/json') },
  {
    weight: 3,
    arbitrary: fc.constantFrom(undefined, 'application/json; charset=utf-8', 'application/json; charset=UTF-16', 'application/json; charset=latin1',
      'application/json; charset="utf-8"', 'application/merge-patch+json', 'application/vnd.api+json', 'text/plain', 'text/json',
      'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json;;', '*/*', 'application/json; charset='),
  },
  { weight: 1, arbitrary: headerText(40) },
);
/** Mostly absent: most requests should get past the headers to the body and the domain. */
const rarely = <T>(arbitrary: fc.Arbitrary<T>) => fc.oneof({ weight: 5, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary });
const headersArb = fc.record(
  {
    authorization,
    'content-type': contentType,
    'if-match': rarely(fc.oneof(
      fc.constantFrom('1', '2', '"1"', '"2"', 'W/"1"', '*', '"99999999999999999999"', '999999999999999', '-1', '"1', '1"', '""', ''),
      headerText(20),
    )),
    'idempotency-key': fc.oneof(
      { weight: 3, arbitrary: fc.constant(undefined) },
      { weight: 2, arbitrary: fc.stringMatching(/^[A-Za-z0-9_-]{1,12}$/) },
      { weight: 1, arbitrary: fc.oneof(printable(40), headerText(20), fc.constant('k'.repeat(256)), fc.constant('')) },
    ),
    'content-encoding': rarely(fc.constantFrom('gzip', 'deflate', 'br', 'identity', 'bogus', 'gzip, gzip')),
    accept: rarely(fc.constantFrom('application/json', 'text/html', '*/*', '')),
    'x-fuzz': rarely(headerText(30)),
  },
);

const method = fc.oneof(
  { weight: 10, arbitrary: fc.constant('template') },
  { weight: 3, arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS') },
  { weight: 1, arbitrary: fc.constantFrom('PROPFIND', 'PURGE', 'SEARCH', 'MKCOL', 'LOCK', 'REPORT', 'QUERY') },
);

/** A valid body for a route template (the fuzzer then bends it). */
function validBody(method: string, path: string): Record<string, unknown> {
  if (method !== 'POST') return {};
  if (path === '/v1/handoffs') return handoffBody({ task_id: 'fuzz' });
  if (path === '/v1/runs') return { workflow_id: DEFINITION.workflow_id, parameters: { a: 1 } };
  if (path === '/v1/definitions') return structuredClone(DEFINITION);
  if (path === '/v1/subscriptions') return { url: SAFE_CALLBACK_URL, events: ['handoff.claimed'], filter: {} };
  if (path.endsWith('/heartbeat')) return { progress: { pct: 10 } };
  if (path.endsWith('/complete') && path.startsWith('/v1/handoffs')) return { result: { ok: 1 } };
  if (path.endsWith('/phases/{phase_id}/complete')) return { output: { kubeconfig_ref: 'k' } };
  if (path.endsWith('/fail')) return path === '/v1/runs/{id}/fail' ? { error: { code: 'x', message: 'y' }, rollback: true } : { error: { code: 'x', message: 'y' } };
  if (path.endsWith('/cancel')) return { reason: 'fuzz' };
  if (path.includes('/rollback/steps/')) return { status: 'done', note: 'n' };
  return {};
}

function deepText(depth: number, shape: 'array' | 'object'): string {
  return shape === 'array' ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
}

/** Any URL a fuzzed body names is replaced by a loopback one: the relay must only ever call 127.0.0.1. */
function confineUrls(text: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return text;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed) || !Object.hasOwn(parsed, 'url')) return text;
  if ((parsed as Record<string, unknown>).url === SAFE_CALLBACK_URL) return text;
  (parsed as Record<string, unknown>).url = SAFE_CALLBACK_URL;
  return JSON.stringify(parsed);
}

function bodyText(spec: BodySpec, valid: Record<string, unknown>): string | undefined {
  switch (spec.kind) {
    case 'none':
      return undefined;
    case 'json':
      return JSON.stringify(spec.value) ?? 'null';
    case 'valid':
      return JSON.stringify(valid);
    case 'mutate': {
      const copy: Record<string, unknown> = { ...valid };
      const keys = Object.keys(valid);
      const field = spec.existing !== null && keys.length > 0 ? keys[spec.existing % keys.length]! : spec.field;
      if (spec.op === 'delete') {
        delete copy[field];
        return JSON.stringify(copy);
      }
      if (spec.op === 'set') {
        Object.defineProperty(copy, field, { value: spec.value, enumerable: true, writable: true, configurable: true });
        return JSON.stringify(copy);
      }
      delete copy[field];
      const rest = JSON.stringify(copy);
      return `{${JSON.stringify(field)}:${spec.literal}${rest === '{}' ? '}' : `,${rest.slice(1)}`}`;
    }
    case 'deep': {
      const deep = deepText(spec.depth, spec.shape);
      if (spec.where === 'top') return deep;
      const field = 'data' in valid ? 'data' : 'result' in valid ? 'result' : 'parameters' in valid ? 'parameters' : 'progress';
      const copy: Record<string, unknown> = { ...valid };
      delete copy[field];
      const rest = JSON.stringify(copy);
      return `{"${field}":{"x":${deep}}${rest === '{}' ? '}' : `,${rest.slice(1)}`}`;
    }
    case 'raw':
      return spec.text;
    case 'huge':
      return JSON.stringify({ ...valid, data: { blob: 'x'.repeat(1024 * 1024 + 10) } });
  }
}

interface Plan {
  template: number;
  method: string;
  junkPath: string | null;
  segments: Segment[];
  query: string;
  body: BodySpec;
  headers: Partial<Record<string, string | undefined>>;
  gzip: boolean;
}

function buildRequest(world: World, plan: Plan): FuzzRequest {
  const template = world.templates[plan.template % world.templates.length]!;
  let path: string;
  if (plan.junkPath !== null) {
    path = plan.junkPath;
  } else {
    let i = 0;
    const kind = template.path.startsWith('/v1/handoffs') ? 'handoff' : template.path.startsWith('/v1/runs') ? 'run' : 'subscription';
    path = template.path.replace(/\{([a-z_]+)\}/g, (_match, name: string) => {
      const chosen = plan.segments[i++ % plan.segments.length]!;
      if ('raw' in chosen) return chosen.raw;
      const known = world.ids[name === 'id' ? kind : name === 'contractor' ? 'contractor' : name] ?? world.ids.handoff!;
      return encodeURIComponent(known[chosen.known % known.length]!);
    });
  }
  const method = plan.method === 'template' ? template.method : plan.method;
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(plan.headers)) if (value !== undefined) headers[name] = value;
  const text = bodyText(plan.body, validBody(method, template.path));
  let body: Buffer | undefined;
  if (text !== undefined) {
    const safe = confineUrls(text);
    body = Buffer.from(safe, 'utf8');
    if (plan.gzip) {
      body = gzipSync(body);
      headers['content-encoding'] = 'gzip';
    }
  }
  return { method, path: path + plan.query, headers, body };
}

function planArb(world: World, options: { writesOnly: boolean }): fc.Arbitrary<Plan> {
  const postTemplates = world.templates.flatMap((t, i) => (t.method === 'POST' ? [i] : []));
  return fc.record({
    template: options.writesOnly ? fc.constantFrom(...postTemplates) : fc.nat({ max: world.templates.length - 1 }),
    method: options.writesOnly ? fc.constant('template') : method,
    junkPath: options.writesOnly
      ? fc.constant(null)
      : fc.oneof(
          { weight: 12, arbitrary: fc.constant(null) },
          {
            weight: 1,
            arbitrary: fc.constantFrom('/', '/v1', '/v1/', '//v1//handoffs', '/v1/handoffs/', '/V1/HANDOFFS', '/healthz', '/readyz', '/metrics',
              '/openapi.json', '/v1/handoffs/../runs', '/v1/handoffs/%2e%2e/runs', '/v1/handoffs/x/y/z/w', '/favicon.ico', '/v1/definitions/a/versions'),
          },
          { weight: 1, arbitrary: fc.array(printable(12).map(encodeURIComponent), { maxLength: 6 }).map((parts) => `/${parts.join('/')}`) },
        ),
    segments: fc.array(segment, { minLength: 3, maxLength: 3 }),
    query: options.writesOnly ? fc.oneof({ weight: 4, arbitrary: fc.constant('') }, { weight: 1, arbitrary: query }) : query,
    body: options.writesOnly
      ? fc.oneof({ weight: 2, arbitrary: fc.constant({ kind: 'valid' as const }) }, { weight: 3, arbitrary: bodySpec })
      : bodySpec,
    headers: options.writesOnly
      ? headersArb.map((h) => ({ ...h, 'content-type': h['content-type'] === undefined ? 'application/json' : h['content-type'] }))
      : headersArb,
    gzip: fc.oneof({ weight: 15, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
  });
}

function describe(r: FuzzRequest): string {
  const body = r.body ? r.body.toString('utf8') : '';
  return `${r.method} ${r.path.slice(0, 300)} headers=${JSON.stringify(r.headers).slice(0, 400)} body(${body.length})=${body.slice(0, 300)}`;
}

function checkResponse(r: FuzzRequest, response: FuzzResponse): void {
  assert.ok(response.status >= 200 && response.status < 500, `HTTP ${response.status} for ${describe(r)}: ${response.text.slice(0, 500)}`);
  if (response.status >= 400 && r.method !== 'HEAD') {
    const problem = errorShapeProblem(response);
    assert.equal(problem, null, `HTTP ${response.status} without the error JSON (${problem}) for ${describe(r)}: ${response.text.slice(0, 300)}`);
  }
}

function seriousLogLines(svc: TestService): string[] {
  return svc.logs.filter((line) => {
    if (line.includes('unhandled error')) return true;
    try {
      return (JSON.parse(line) as { level?: number }).level! >= 50;
    } catch {
      return true;
    }
  });
}

test('an unhandled error is logged with its message and stack (what a fuzz failure is read from)', async () => {
  const svc = await startTestService();
  try {
    svc.service.logger.error({ err: new TypeError('fuzz-probe failure'), method: 'GET', path: '/x' }, 'unhandled error');
    const line = svc.logs.find((l) => l.includes('fuzz-probe failure'));
    assert.ok(line, 'the error message is in the log');
    const entry = JSON.parse(line);
    assert.equal(entry.err.type, 'TypeError');
    assert.match(entry.err.stack, /fuzz\.test\.ts/);
  } finally {
    await svc.stop();
  }
});

test('bodies nested up to the limit are accepted, deeper ones are a 400, never a 500', async () => {
  const svc = await startTestService();
  const agent = new Agent({ keepAlive: true, maxSockets: 2 });
  try {
    const created = await svc.call('POST', '/v1/handoffs', { as: 'infrastructure-contractor', body: handoffBody({ task_id: 'deep-base' }) });
    assert.equal(created.status, 201);
    await svc.call('POST', `/v1/handoffs/${created.body.handoff_id}/claim`, { as: 'talos-contractor' });
    const bearer = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };
    const wrap = (field: string, depth: number, shape: 'array' | 'object') => `{"${field}":{"x":${deepText(depth, shape)}}}`;
    // The body's own object is level 1, the field's object level 2, "x" starts level 3.
    for (const depth of [1, 10, 32, 33, 62, 63, 64, 100, 1000, 10_000, 100_000]) {
      for (const shape of ['array', 'object'] as const) {
        const handoff = JSON.parse(JSON.stringify(handoffBody({ task_id: `deep-${depth}` })));
        delete handoff.data;
        const create: FuzzRequest = {
          method: 'POST',
          path: '/v1/handoffs',
          headers: bearer,
          body: Buffer.from(`{"data":{"x":${deepText(depth, shape)}},${JSON.stringify(handoff).slice(1)}`),
        };
        const progress: FuzzRequest = {
          method: 'POST',
          path: `/v1/handoffs/${created.body.handoff_id}/heartbeat`,
          headers: bearer,
          body: Buffer.from(wrap('progress', depth, shape)),
        };
        const definition: FuzzRequest = { method: 'POST', path: '/v1/definitions', headers: bearer, body: Buffer.from(wrap('phases', depth, shape)) };
        for (const r of [create, progress, definition]) {
          const response = await send(svc.service.port, agent, r);
          checkResponse(r, response);
          const levels = depth + 2;
          if (levels > 64) {
            assert.equal(response.status, 400, `depth ${levels}: ${response.text.slice(0, 200)}`);
            assert.equal(JSON.parse(response.text).error.code, 'too_deeply_nested');
          } else if (r === create) {
            assert.equal(response.status, 201, `depth ${levels}: ${response.text.slice(0, 200)}`);
          } else if (r === progress) {
            assert.equal(response.status, 200, `depth ${levels}: ${response.text.slice(0, 200)}`);
          } else {
            assert.equal(response.status, 422, `depth ${levels}: ${response.text.slice(0, 200)}`);
          }
        }
      }
    }
    assert.deepEqual(seriousLogLines(svc), []);
  } finally {
    agent.destroy();
    await svc.stop();
  }
});

test('fuzz: thousands of random and malformed requests, no 5xx, every 4xx is the error JSON, service still ready', async () => {
  const svc = await startTestService();
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });
  const started = Date.now();
  try {
    const world = await seedWorld(svc);
    const port = svc.service.port;
    const statuses = new Map<number, number>();
    const run = async (plan: Plan) => {
      const r = buildRequest(world, plan);
      const response = await send(port, agent, r);
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);

      checkResponse(r, response);
    };

    await fc.assert(fc.asyncProperty(planArb(world, { writesOnly: false }), run), {
      seed: SEED,
      numRuns: GENERAL_RUNS,
      interruptAfterTimeLimit: PROPERTY_TIME_LIMIT_MS,
      markInterruptAsFailure: true,
    });
    await fc.assert(fc.asyncProperty(planArb(world, { writesOnly: true }), run), {
      seed: SEED + 1,
      numRuns: BODY_RUNS,
      interruptAfterTimeLimit: PROPERTY_TIME_LIMIT_MS,
      markInterruptAsFailure: true,
    });

    if (process.env.FUZZ_DEBUG) console.log(JSON.stringify([...statuses].sort((a, b) => a[0] - b[0])));
    // The fuzzer reached past validation: successes and the interesting 4xx all occurred.
    const total = [...statuses.values()].reduce((a, b) => a + b, 0);
    assert.ok(total >= GENERAL_RUNS + BODY_RUNS, `${total} requests`);
    for (const status of [200, 201, 400, 401, 403, 404, 409]) assert.ok((statuses.get(status) ?? 0) > 0, `some ${status}: ${JSON.stringify([...statuses])}`);

    const ready = await svc.call('GET', '/readyz', { as: null });
    assert.equal(ready.status, 200);
    assert.equal(ready.body.status, 'ready');
    // Fuzzed subscriptions only ever point at loopback.
    const subs = await svc.call('GET', '/v1/subscriptions');
    for (const sub of subs.body.items) assert.equal(new URL(sub.url).hostname, '127.0.0.1');
    assert.deepEqual(seriousLogLines(svc), []);
    assert.ok(Date.now() - started < 60_000, 'bounded in time');
  } finally {
    agent.destroy();
    await svc.stop();
  }
});
