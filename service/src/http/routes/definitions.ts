// /v1/definitions: workflow definitions in the seed's template format, by id and version.

import { defineRoute, type RouteSpec } from '../route.ts';
import { DefinitionBody, DefinitionParams, DefinitionVersionParams, ErrorView } from '../schemas.ts';
import { CortexError, notFound } from '../../domain/errors.ts';
import { validateDefinition } from '../../domain/definitions.ts';
import type { Clock } from '../../domain/principal.ts';
import type { Store } from '../../store/store.ts';

export function definitionRoutes(store: Store, clock: Clock): RouteSpec[] {
  return [
    defineRoute({
      method: 'post',
      path: '/v1/definitions',
      tag: 'definitions',
      summary: 'Store a workflow definition (validated against the JSON Schema; a version is immutable)',
      body: DefinitionBody,
      responses: {
        201: { description: 'stored' },
        200: { description: 'the same definition was already stored' },
        409: { description: 'this workflow_id and version exist with other content', schema: ErrorView },
        422: { description: 'the definition is invalid; details name each JSON path', schema: ErrorView },
      },
      handler: async ({ body }) => {
        const result = validateDefinition(body);
        if (!result.ok) {
          throw new CortexError('unprocessable', 'definition_invalid', `the workflow definition has ${result.errors.length} problem(s)`, result.errors);
        }
        const outcome = await store.putDefinition(result.definition, clock.now());
        return { status: outcome === 'created' ? 201 : 200, body: result.definition };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/definitions',
      tag: 'definitions',
      summary: 'List stored definitions (every version)',
      responses: { 200: { description: 'the list' } },
      handler: async () => {
        const items = await store.listDefinitions();
        return { status: 200, body: { items: items.map((item) => ({ ...item, created_at: new Date(item.created_at).toISOString() })) } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/definitions/:workflow_id',
      tag: 'definitions',
      summary: 'The latest version of a definition',
      params: DefinitionParams,
      responses: { 200: { description: 'the definition' }, 404: { description: 'none stored', schema: ErrorView } },
      handler: async ({ params }) => {
        const definition = await store.getDefinition(params.workflow_id);
        if (!definition) throw notFound('definition', params.workflow_id);
        return { status: 200, body: definition };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/definitions/:workflow_id/versions/:version',
      tag: 'definitions',
      summary: 'One version of a definition',
      params: DefinitionVersionParams,
      responses: { 200: { description: 'the definition' }, 404: { description: 'none stored', schema: ErrorView } },
      handler: async ({ params }) => {
        const definition = await store.getDefinition(params.workflow_id, params.version);
        if (!definition) throw notFound('definition', `${params.workflow_id}@${params.version}`);
        return { status: 200, body: definition };
      },
    }),
  ];
}
