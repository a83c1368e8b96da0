import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';
import { forOperation, optionsField, settings, type OperationContext } from '../shared.ts';

/** GET /nodes: the cluster's nodes with status and load. */
export const description = forOperation('cluster', 'listNodes', [optionsField({})]);

export async function execute(this: IExecuteFunctions, itemIndex: number, ctx: OperationContext): Promise<IDataObject[]> {
  const nodes = (await ctx.client.get<IDataObject[]>('/nodes', undefined, settings.call(this, itemIndex))) ?? [];
  return nodes.sort((a, b) => String(a.node).localeCompare(String(b.node)));
}
