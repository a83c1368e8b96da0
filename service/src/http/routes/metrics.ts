// /v1/metrics: the seed's workflow-stats and contractor-performance shapes.

import { defineRoute, type RouteSpec } from '../route.ts';
import { ContractorStatsParams, ContractorStatsView, WorkflowStatsParams, WorkflowStatsView } from '../schemas.ts';
import { contractorStatsView, workflowStatsView } from '../../domain/metrics.ts';
import type { Store } from '../../store/store.ts';

const TOP_ERRORS = 10;

export function metricsRoutes(store: Store): RouteSpec[] {
  return [
    defineRoute({
      method: 'get',
      path: '/v1/metrics/workflows',
      tag: 'metrics',
      summary: 'Workflow stats for every workflow that has finished runs',
      responses: { 200: { description: 'the list' } },
      handler: async () => {
        const ids = await store.listWorkflowIdsWithStats();
        const items = await Promise.all(ids.map(async (id) => workflowStatsView(id, await store.getWorkflowStats(id))));
        return { status: 200, body: { items } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/metrics/workflows/:workflow_id',
      tag: 'metrics',
      summary: 'Workflow stats (the seed\'s workflow-stats.json shape)',
      params: WorkflowStatsParams,
      responses: { 200: { description: 'stats; zeros when nothing finished yet', schema: WorkflowStatsView } },
      handler: async ({ params }) => ({ status: 200, body: workflowStatsView(params.workflow_id, await store.getWorkflowStats(params.workflow_id)) }),
    }),
    defineRoute({
      method: 'get',
      path: '/v1/metrics/contractors',
      tag: 'metrics',
      summary: 'Contractor performance for every contractor seen',
      responses: { 200: { description: 'the list' } },
      handler: async () => {
        const names = await store.listContractorsWithStats();
        const items = await Promise.all(names.map(async (name) => contractorStatsView(name, await store.getContractorStats(name, TOP_ERRORS))));
        return { status: 200, body: { items } };
      },
    }),
    defineRoute({
      method: 'get',
      path: '/v1/metrics/contractors/:contractor',
      tag: 'metrics',
      summary: 'Contractor performance (the seed\'s contractor-performance.json shape)',
      params: ContractorStatsParams,
      responses: { 200: { description: 'performance; zeros when nothing recorded', schema: ContractorStatsView } },
      handler: async ({ params }) => ({
        status: 200,
        body: contractorStatsView(params.contractor, await store.getContractorStats(params.contractor, TOP_ERRORS)),
      }),
    }),
  ];
}
