// The item loop: one operation per item (a bounded number of items at a time), outputs paired
// with their input item, continueOnFail, and Proxmox failures turned into NodeApiError.

import { NodeApiError, NodeOperationError } from 'n8n-workflow';
import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { ProxmoxClient } from '../transport/client.ts';
import { ProxmoxError, toNodeApiError } from '../transport/errors.ts';
import { DEFAULT_SETTINGS, settle } from '../transport/retry.ts';
import { VmidAllocator } from '../transport/vmid.ts';
import * as cluster from './cluster/Cluster.resource.ts';
import * as container from './container/Container.resource.ts';
import type { Operation, OperationContext } from './shared.ts';
import * as storage from './storage/Storage.resource.ts';
import * as task from './task/Task.resource.ts';
import * as vm from './vm/Vm.resource.ts';

const RESOURCES: Record<string, Record<string, Operation>> = {
  vm: vm.operations,
  container: container.operations,
  cluster: cluster.operations,
  storage: storage.operations,
  task: task.operations,
};

function toNodeError(ctx: IExecuteFunctions, error: unknown, itemIndex: number): NodeApiError | NodeOperationError {
  if (error instanceof ProxmoxError) return toNodeApiError(ctx.getNode(), error, itemIndex);
  if (error instanceof NodeApiError || error instanceof NodeOperationError) {
    error.context.itemIndex ??= itemIndex;
    return error;
  }
  return new NodeOperationError(ctx.getNode(), error as Error, { itemIndex });
}

// n8n sends a failed item to the error output ("Continue (using error output)") only when its JSON
// holds nothing but error, message and details, so everything else goes under details.
function errorJson(error: NodeApiError | NodeOperationError): IDataObject {
  const details: IDataObject = {};
  if (error.description) details.description = error.description;
  if (error instanceof NodeApiError && error.httpCode) details.httpCode = error.httpCode;
  for (const key of ['upid', 'exitStatus', 'logTail', 'paramErrors']) {
    if (error.context[key] !== undefined) details[key] = error.context[key] as IDataObject[keyof IDataObject];
  }
  return Object.keys(details).length ? { error: error.message, details } : { error: error.message };
}

export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
  const items = this.getInputData();
  const resource = this.getNodeParameter('resource', 0) as string;
  const operation = this.getNodeParameter('operation', 0) as string;
  const selected = RESOURCES[resource]?.[operation];
  if (!selected) throw new NodeOperationError(this.getNode(), `The operation "${operation}" of "${resource}" is not supported`);

  const options = this.getNodeParameter('options', 0, {}) as IDataObject;
  const concurrency = Math.max(1, Math.min(50, Math.floor(Number(options.concurrency ?? 1)) || 1));
  const ctx: OperationContext = { client: new ProxmoxClient(this), vmids: new VmidAllocator() };
  const results: INodeExecutionData[][] = new Array(items.length);
  const state: { failure?: { index: number; error: NodeApiError | NodeOperationError } } = {};
  const recordFailure = (index: number, error: NodeApiError | NodeOperationError): void => {
    // The lowest failing item's error is the one reported.
    if (state.failure === undefined || index < state.failure.index) state.failure = { index, error };
  };
  let next = 0;

  const worker = async (): Promise<void> => {
    while (state.failure === undefined && next < items.length) {
      const itemIndex = next++;
      try {
        const output = await selected.execute.call(this, itemIndex, ctx);
        results[itemIndex] = (Array.isArray(output) ? output : [output]).map((json) => ({ json, pairedItem: { item: itemIndex } }));
      } catch (error) {
        const nodeError = toNodeError(this, error, itemIndex);
        if (this.continueOnFail()) {
          results[itemIndex] = [{ json: errorJson(nodeError), pairedItem: { item: itemIndex } }];
          continue;
        }
        recordFailure(itemIndex, nodeError);
      }
    }
  };
  const parallel = Math.min(concurrency, items.length);
  if (parallel > 1) {
    const warm = await settle(ctx.client.warmUp(DEFAULT_SETTINGS));
    if (!warm.ok) throw toNodeError(this, warm.error, 0);
  }
  // Items run `concurrency` at a time; after a failure no new item starts, the running ones finish.
  await Promise.all(Array.from({ length: parallel }, () => worker()));
  if (state.failure !== undefined) throw state.failure.error;
  return [results.flatMap((r) => r ?? [])];
}
