// The OpenAPI 3.1 document, generated from the route declarations' zod schemas.

import { z } from 'zod';
import type { RouteSpec } from './route.ts';

type JsonSchema = Record<string, unknown>;

const toSchema = (schema: z.ZodType, io: 'input' | 'output'): JsonSchema => {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any', reused: 'inline' }) as JsonSchema;
  return rest;
};

function parameters(schema: z.ZodType | undefined, location: 'path' | 'query'): JsonSchema[] {
  if (!schema) return [];
  const json = toSchema(schema, 'input') as { properties?: Record<string, JsonSchema>; required?: string[] };
  return Object.entries(json.properties ?? {}).map(([name, property]) => ({
    name,
    in: location,
    required: location === 'path' || (json.required ?? []).includes(name),
    schema: property,
    ...(typeof property.description === 'string' ? { description: property.description } : {}),
  }));
}

export function buildOpenApi(routes: RouteSpec[], version: string): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const route of routes) {
    const path = route.path.replace(/:([A-Za-z_]+)/g, '{$1}');
    const headers: JsonSchema[] = [];
    if (route.idempotent) {
      headers.push({ name: 'Idempotency-Key', in: 'header', required: false, description: 'a retry with the same key returns the original answer', schema: { type: 'string', maxLength: 255 } });
    }
    if (route.conditional) {
      headers.push({ name: 'If-Match', in: 'header', required: false, description: 'the version you read (ETag); 409 when it changed', schema: { type: 'string' } });
    }
    const operation: JsonSchema = {
      tags: [route.tag],
      summary: route.summary,
      operationId: `${route.method}${path.replace(/[{}]/g, '').replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : ''))}`,
      parameters: [...parameters(route.params, 'path'), ...parameters(route.query, 'query'), ...headers],
      responses: Object.fromEntries(
        Object.entries(route.responses).map(([status, response]) => [
          status,
          {
            description: response.description,
            ...(response.schema ? { content: { 'application/json': { schema: toSchema(response.schema, 'output') } } } : {}),
          },
        ]),
      ),
    };
    if (route.body && route.method !== 'get') {
      operation.requestBody = { required: false, content: { 'application/json': { schema: toSchema(route.body, 'input') } } };
    }
    (paths[path] ??= {})[route.method] = operation;
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Cortex companion service',
      version,
      description: 'Durable handoffs between contractors, workflow runs with timeouts and rollback plans, signed callbacks and the seed\'s metrics.',
    },
    components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    security: [{ bearer: [] }],
    paths,
  };
}
