// The item loop of the Handoff node: dispatches each item to its operation, pairs every output
// item with its input, and owns error handling — continueOnFail puts {error} on the item;
// otherwise a bad parameter is a NodeOperationError and a service failure a NodeApiError, both
// with the item index.

import { NodeApiError, NodeOperationError } from 'n8n-workflow';
import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import * as approval from './approval/Approval.resource.ts';
import * as handoff from './handoff/Handoff.resource.ts';
import * as metrics from './metrics/Metrics.resource.ts';
import type { CortexNodeType, ItemOperation } from './node.type.ts';
import * as workflowRun from './workflowRun/WorkflowRun.resource.ts';

const RESOURCES: Record<string, Record<string, unknown>> = { handoff, workflowRun, metrics, approval };

function operationOf({ resource, operation }: CortexNodeType): ItemOperation | undefined {
  const found = RESOURCES[resource]?.[operation] as Partial<ItemOperation> | undefined;
  if (!found || typeof found.execute !== 'function' || !Array.isArray(found.description)) return undefined;
  return found as ItemOperation;
}

/** The error as the item (or the run) should carry it, with the item index. */
function withItemIndex(context: IExecuteFunctions, error: unknown, itemIndex: number): NodeApiError | NodeOperationError {
  if (error instanceof NodeApiError || error instanceof NodeOperationError) {
    // `new NodeApiError(node, aNodeApiError, …)` hands the same error back; set the index here.
    if (error.context.itemIndex === undefined) error.context.itemIndex = itemIndex;
    return error;
  }
  return new NodeOperationError(context.getNode(), error as Error, { itemIndex });
}

export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
  const items = this.getInputData();
  const type = {
    resource: this.getNodeParameter('resource', 0),
    operation: this.getNodeParameter('operation', 0),
  } as CortexNodeType;

  if (type.resource === 'handoff' && type.operation === 'waitForCompletion') return await waitForCompletion(this, items);

  const operation = operationOf(type);
  if (!operation) {
    throw new NodeOperationError(this.getNode(), `The operation "${type.operation}" of "${type.resource}" is not supported`);
  }
  const returnData: INodeExecutionData[] = [];
  for (let itemIndex = 0; itemIndex < items.length; itemIndex++) {
    try {
      const answer = await operation.execute.call(this, itemIndex);
      for (const json of Array.isArray(answer) ? answer : [answer]) {
        returnData.push({ json: json as IDataObject, pairedItem: { item: itemIndex } });
      }
    } catch (error) {
      const failure = withItemIndex(this, error, itemIndex);
      if (this.continueOnFail()) {
        returnData.push({ json: { error: failure.message }, pairedItem: { item: itemIndex } });
        continue;
      }
      throw failure;
    }
  }
  return [returnData];
}

/** Wait for Completion pauses the whole execution, so it takes exactly one item. */
async function waitForCompletion(context: IExecuteFunctions, items: INodeExecutionData[]): Promise<INodeExecutionData[][]> {
  if (items.length !== 1) {
    throw new NodeOperationError(context.getNode(), `Wait for Completion waits for one handoff per execution, but got ${items.length} items`, {
      itemIndex: Math.min(1, items.length),
      description:
        'n8n pauses the whole execution while it waits. Send one item: put the node inside a Loop Over Items node (batch size 1) to wait for several handoffs one after another, or run a sub-workflow per handoff.',
    });
  }
  try {
    return await handoff.waitForCompletion.execute.call(context, 0);
  } catch (error) {
    const failure = withItemIndex(context, error, 0);
    // The error item goes to "Failed / Timed Out": never to "Completed".
    if (context.continueOnFail()) return [[], [{ json: { error: failure.message }, pairedItem: { item: 0 } }]];
    throw failure;
  }
}
