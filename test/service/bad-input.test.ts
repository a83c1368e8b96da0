// Bad input on every route. The routes come from GET /openapi.json, so a new route is
// covered without touching this file. Every answer must be a 4xx with the error shape
// {error:{code,message,details}}; nothing may reach the 500 path.

import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { ADMIN_TOKEN, startTestService, type TestService } from './harness.ts';

type JsonSchema = {
  type?: string | string[];
  anyOf?: JsonSchema[];
  $ref?: string;
  enum?: unknown[];
  pattern?: string;
  maxLength?: number;
  properties?: Record<string, JsonSchema>;
};

interface RouteInfo {
  method: string;
  /** OpenAPI template, e.g. /v1/handoffs/{id}. */
  template: string;
  pathParams: Array<{ name: string; schema: JsonSchema }>;
  queryParams: Array<{ name: string; schema: JsonSchema }>;
  body: JsonSchema | undefined;
}

interface RawReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  body: any;
}

interface RawOptions {
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Send the body with Transfer-Encoding: chunked (no Content-Length). */
  chunked?: boolean;
  contentType?: string;
  token?: string | null;
}

/** node:http rather than fetch: it sends bodies with GET and paths exactly as written. */
function raw(baseUrl: string, method: string, path: string, options: RawOptions = {}): Promise<RawReply> {
  const url = new URL(baseUrl);
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  const token = options.token === undefined ? ADMIN_TOKEN : options.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (options.body !== undefined) {
    headers['content-type'] = options.contentType ?? 'application/json';
    if (options.chunked) headers['transfer-encoding'] = 'chunked';
    else headers['content-length'] = String(Buffer.byteLength(options.body));
  }
  return new Promise((resolve, reject) => {
    const request = http.request({ host: url.hostname, port: url.port, method, path, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let body: unknown = text;
        try {
          body = text ? JSON.parse(text) : undefined;
        } catch {
          // not JSON: keep the text (the assertions will say so)
        }
        resolve({ status: response.statusCode ?? 0, headers: response.headers, text, body });
      });
      response.on('error', reject);
    });
    request.on('error', reject);
    if (options.body !== undefined) {
      if (options.chunked) {
        const data = Buffer.from(options.body);
        const half = Math.ceil(data.length / 2);
        request.write(data.subarray(0, half));
        request.write(data.subarray(half));
      } else {
        request.write(options.body);
      }
    }
    request.end();
  });
}

/** A 4xx with the service's error shape; returns the error for further checks. */
function assertClientError(reply: RawReply, context: string): { code: string; message: string; details: Array<{ path: string; message: string }> } {
  assert.ok(reply.status >= 400 && reply.status < 500, `${context}: expected a 4xx, got ${reply.status} ${reply.text.slice(0, 500)}`);
  assert.match(String(reply.headers['content-type']), /^application\/json/, `${context}: content-type`);
  assert.equal(typeof reply.body, 'object', `${context}: body is not JSON: ${reply.text.slice(0, 200)}`);
  const error = reply.body?.error;
  assert.ok(error && typeof error === 'object', `${context}: no error object: ${reply.text.slice(0, 500)}`);
  assert.equal(typeof error.code, 'string', context);
  assert.ok(error.code.length > 0, context);
  assert.equal(typeof error.message, 'string', context);
  assert.ok(Array.isArray(error.details), `${context}: details is not an array`);
  for (const detail of error.details) {
    assert.equal(typeof detail.path, 'string', `${context}: detail.path`);
    assert.equal(typeof detail.message, 'string', `${context}: detail.message`);
  }
  return error;
}

/** Asserts one detail names `field`, as `<location>.<field>` (zod) or a JSON pointer ending in it. */
function assertDetailNames(error: { details: Array<{ path: string }> }, expected: string, context: string): void {
  const paths = error.details.map((d) => d.path);
  assert.ok(paths.includes(expected), `${context}: no detail with path ${expected} in ${JSON.stringify(paths)}`);
}

/** The JSON types a property schema allows; null when it allows anything. */
function allowedTypes(schema: JsonSchema): Set<string> | null {
  if (schema.$ref) return null;
  if (schema.anyOf) {
    const all = new Set<string>();
    for (const part of schema.anyOf) {
      const inner = allowedTypes(part);
      if (inner === null) return null;
      for (const t of inner) all.add(t);
    }
    return all;
  }
  if (schema.type === undefined) return null;
  const types = new Set(Array.isArray(schema.type) ? schema.type : [schema.type]);
  if (types.has('integer')) types.add('number');
  return types;
}

const jsonType = (value: unknown): string => (value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value);
const CANDIDATES: unknown[] = [{ wrong: true }, 12345, 'wrong', true, ['wrong']];

/** A value of a JSON type the schema does not allow, or undefined when it allows all. */
function wrongValueFor(schema: JsonSchema): unknown {
  const types = allowedTypes(schema);
  if (types === null) return undefined;
  return CANDIDATES.find((candidate) => !types.has(jsonType(candidate)));
}

/** A query value the schema refuses, or undefined when there is none to make. */
function badQueryValue(schema: JsonSchema): string | undefined {
  const types = allowedTypes(schema);
  if (types?.has('number')) return 'not-a-number';
  if (schema.enum) return 'not-one-of-them';
  if (schema.pattern) return 'NOT VALID!';
  if (schema.maxLength !== undefined) return 'x'.repeat(schema.maxLength + 1);
  return undefined;
}

const VALID_PARAM = 'zz-nothing';

function fill(template: string, values: Record<string, string> = {}): string {
  return template.replace(/\{([A-Za-z_]+)\}/g, (_m, name: string) => values[name] ?? VALID_PARAM);
}

describe('bad input on every route', () => {
  let svc: TestService;
  const routes: RouteInfo[] = [];
  const TWO_MB = JSON.stringify({ data: 'x'.repeat(2 * 1024 * 1024) });

  before(async () => {
    svc = await startTestService();
    const reply = await svc.call('GET', '/openapi.json');
    assert.equal(reply.status, 200);
    for (const [template, operations] of Object.entries<Record<string, any>>(reply.body.paths)) {
      for (const [method, operation] of Object.entries<any>(operations)) {
        const parameters = (operation.parameters ?? []) as Array<{ name: string; in: string; schema: JsonSchema }>;
        routes.push({
          method: method.toUpperCase(),
          template,
          pathParams: parameters.filter((p) => p.in === 'path'),
          queryParams: parameters.filter((p) => p.in === 'query'),
          body: operation.requestBody?.content?.['application/json']?.schema,
        });
      }
    }
  });
  after(async () => {
    await svc?.stop();
  });

  it('the OpenAPI document lists the routes (so the loops below are not vacuous)', () => {
    const names = routes.map((r) => `${r.method} ${r.template}`);
    assert.ok(routes.length >= 30, `only ${routes.length} routes`);
    for (const known of ['POST /v1/handoffs', 'GET /v1/handoffs/{id}', 'POST /v1/handoffs/{id}/claim', 'DELETE /v1/subscriptions/{id}', 'POST /v1/runs/{id}/rollback/steps/{step_id}']) {
      assert.ok(names.includes(known), `${known} is missing`);
    }
    assert.ok(routes.filter((r) => r.body).length >= 15);
    assert.ok(routes.filter((r) => r.pathParams.length > 0).length >= 20);
    // Every path parameter in a template is described.
    for (const route of routes) {
      const inTemplate = [...route.template.matchAll(/\{([A-Za-z_]+)\}/g)].map((m) => m[1]);
      assert.deepEqual(route.pathParams.map((p) => p.name).sort(), inTemplate.sort(), `${route.method} ${route.template}`);
    }
  });

  it('malformed JSON, scalars and a 2 MB body on every route', async () => {
    for (const route of routes) {
      const path = fill(route.template);
      const context = `${route.method} ${route.template}`;
      for (const text of ['{"a":', '{"a": 1,}', "{'a': 1}", '"just a string"', '42', 'null']) {
        const reply = await raw(svc.url, route.method, path, { body: text });
        const error = assertClientError(reply, `${context} body ${text}`);
        assert.equal(reply.status, 400, `${context} body ${text}`);
        assert.equal(error.code, 'malformed_json', `${context} body ${text}`);
      }
      const big = await raw(svc.url, route.method, path, { body: TWO_MB });
      const error = assertClientError(big, `${context} 2 MB`);
      assert.equal(big.status, 413, context);
      assert.equal(error.code, 'payload_too_large', context);
    }
  });

  it('an unknown query parameter on every route', async () => {
    for (const route of routes) {
      const context = `${route.method} ${route.template}?bogus_param=1`;
      const body = route.method === 'GET' || route.method === 'DELETE' ? undefined : '{}';
      const reply = await raw(svc.url, route.method, `${fill(route.template)}?bogus_param=1`, { body });
      const error = assertClientError(reply, context);
      assert.equal(reply.status, 400, `${context}: ${reply.text}`);
      assertDetailNames(error, 'query.bogus_param', context);
    }
  });

  it('wrong types for every query parameter', async () => {
    let checked = 0;
    for (const route of routes) {
      for (const param of route.queryParams) {
        const value = badQueryValue(param.schema);
        if (value === undefined) continue;
        const context = `${route.method} ${route.template}?${param.name}=${value.slice(0, 20)}`;
        const reply = await raw(svc.url, route.method, `${fill(route.template)}?${param.name}=${encodeURIComponent(value)}`);
        const error = assertClientError(reply, context);
        assert.equal(reply.status, 400, context);
        assertDetailNames(error, `query.${param.name}`, context);
        checked++;
      }
    }
    assert.ok(checked >= 10, `only ${checked} query parameters checked`);
  });

  it('invalid path parameters on every route', async () => {
    let checked = 0;
    for (const route of routes) {
      for (const param of route.pathParams) {
        const context = (what: string) => `${route.method} ${route.template} with ${param.name}=${what}`;
        const body = route.method === 'GET' || route.method === 'DELETE' ? undefined : '{}';
        // 300 characters: longer than any id, slug or version allows.
        const long = await raw(svc.url, route.method, fill(route.template, { [param.name]: 'a'.repeat(300) }), { body });
        const longError = assertClientError(long, context('300 chars'));
        assert.equal(long.status, 400, context('300 chars'));
        assertDetailNames(longError, `params.${param.name}`, context('300 chars'));
        // A space, a slash-free but odd character set, percent-encoding garbage.
        for (const value of ['a%20b', 'a%00b', '%F0%9F%92%A9', '..', '%E0%A4%A', '%', '%ZZ']) {
          const reply = await raw(svc.url, route.method, fill(route.template, { [param.name]: value }), { body });
          assertClientError(reply, context(value));
        }
        checked++;
      }
    }
    assert.ok(checked >= 25, `only ${checked} path parameters checked`);
  });

  it('body problems on every route that takes a body', async () => {
    const withBody = routes.filter((r) => r.body);
    assert.ok(withBody.length >= 15);
    let typeChecks = 0;
    for (const route of withBody) {
      const path = fill(route.template);
      const context = `${route.method} ${route.template}`;

      const unknown = await raw(svc.url, route.method, path, { body: JSON.stringify({ bogus_field: 1 }) });
      const unknownError = assertClientError(unknown, `${context} unknown field`);
      assert.ok(unknownError.details.some((d) => /(^|[./])bogus_field$/.test(d.path)), `${context} unknown field: ${unknown.text}`);

      const array = await raw(svc.url, route.method, path, { body: '[{"a":1}]' });
      const arrayError = assertClientError(array, `${context} array`);
      assert.equal(array.status, 400, `${context} array: ${array.text}`);
      assertDetailNames(arrayError, 'body', `${context} array`);

      for (const chunked of [false, true]) {
        for (const contentType of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml']) {
          const label = `${context} ${contentType}${chunked ? ' chunked' : ''}`;
          const reply = await raw(svc.url, route.method, path, { body: 'a=1', contentType, chunked });
          const error = assertClientError(reply, label);
          assert.equal(error.code, 'unsupported_media_type', `${label}: ${reply.text}`);
        }
      }

      for (const [name, property] of Object.entries(route.body!.properties ?? {})) {
        const value = wrongValueFor(property);
        if (value === undefined) continue;
        const label = `${context} ${name}=${JSON.stringify(value)}`;
        const reply = await raw(svc.url, route.method, path, { body: JSON.stringify({ [name]: value }) });
        const error = assertClientError(reply, label);
        assert.equal(reply.status, 400, label);
        assert.equal(error.code, 'invalid_request', label);
        assertDetailNames(error, `body.${name}`, label);
        typeChecks++;
      }
    }
    assert.ok(typeChecks >= 20, `only ${typeChecks} wrong-type checks`);
  });

  it('field errors name the field, e.g. body.claim_timeout', async () => {
    const reply = await raw(svc.url, 'POST', '/v1/handoffs', {
      body: JSON.stringify({ from_contractor: 'infrastructure-contractor', to_contractor: 'talos-contractor', task_id: 't', claim_timeout: -5 }),
    });
    const error = assertClientError(reply, 'negative claim_timeout');
    assert.equal(reply.status, 400);
    assert.deepEqual(error.details.map((d) => d.path), ['body.claim_timeout']);
    const nested = await raw(svc.url, 'POST', '/v1/handoffs/x/fail', { body: JSON.stringify({ error: { code: 'has space' } }) });
    assertDetailNames(assertClientError(nested, 'nested'), 'body.error.code', 'nested');
    const missing = await raw(svc.url, 'POST', '/v1/handoffs', { body: JSON.stringify({ from_contractor: 'infrastructure-contractor' }) });
    const missingError = assertClientError(missing, 'missing');
    assertDetailNames(missingError, 'body.to_contractor', 'missing');
    assertDetailNames(missingError, 'body.task_id', 'missing');
  });

  it('unknown routes are 404 route_not_found as JSON', async () => {
    for (const [method, path] of [
      ['GET', '/v1/nope'],
      ['GET', '/nope'],
      ['POST', '/v1/handoffs/x/bogus-action'],
      ['PUT', '/v1/handoffs/x'],
      ['DELETE', '/v1/handoffs/x'],
      ['GET', '/v2/handoffs'],
    ] as const) {
      const reply = await raw(svc.url, method, path);
      const error = assertClientError(reply, `${method} ${path}`);
      assert.equal(reply.status, 404, `${method} ${path}`);
      assert.equal(error.code, 'route_not_found', `${method} ${path}`);
    }
  });

  it('percent-encoding garbage in the path is 400, not 500', async () => {
    for (const path of ['/v1/handoffs/%E0%A4%A', '/v1/handoffs/%E0%A4%A/claim', '/v1/handoffs/%', '/v1/subscriptions/%C0%AF']) {
      const method = path.endsWith('claim') ? 'POST' : 'GET';
      const reply = await raw(svc.url, method, path, method === 'POST' ? { body: '{}' } : {});
      assertClientError(reply, path);
      assert.equal(reply.status, 400, `${path}: ${reply.text}`);
    }
  });

  it('bad headers: Idempotency-Key and If-Match are checked', async () => {
    const key = await raw(svc.url, 'POST', '/v1/handoffs', { body: '{}', headers: { 'idempotency-key': 'x'.repeat(256) } });
    assertClientError(key, 'long Idempotency-Key');
    const ifMatch = await raw(svc.url, 'POST', '/v1/handoffs/x/claim', { body: '{}', headers: { 'if-match': 'nonsense' } });
    assertDetailNames(assertClientError(ifMatch, 'If-Match'), 'header.If-Match', 'If-Match');
  });

  it('afterwards the service is ready and logged no unhandled error', async () => {
    const ready = await raw(svc.url, 'GET', '/readyz', { token: null });
    assert.equal(ready.status, 200, ready.text);
    assert.equal(ready.body.status, 'ready');
    assert.ok(svc.logs.length > 100, 'the requests were logged');
    const requestLines = svc.logs.map((line) => JSON.parse(line) as { msg?: string; status?: number; level?: number }).filter((l) => l.msg === 'request');
    assert.ok(requestLines.length > 100);
    assert.deepEqual(requestLines.filter((l) => (l.status ?? 0) >= 500), []);
    assert.deepEqual(svc.logs.filter((line) => line.includes('unhandled error')), []);
    assert.deepEqual(svc.logs.filter((line) => (JSON.parse(line) as { level: number }).level >= 50), []);
  });
});
