// Parameter helpers every Cortex node may use (the Handoff node's operations, the Approval
// Gate): a JSON object field and the automatic Idempotency-Key. Bad parameters become a
// NodeOperationError that names the field and carries the item index.

import { NodeOperationError } from 'n8n-workflow';
import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';

/**
 * A JSON object from a `json` parameter (a JSON text, or an object an expression produced).
 * Empty text is {}. Anything else that is not a JSON object is a NodeOperationError naming
 * the field and the item.
 */
export function jsonObject(context: IExecuteFunctions, value: unknown, itemIndex: number, label: string): IDataObject {
  let parsed: unknown = value;
  if (typeof value === 'string') {
    if (value.trim() === '') return {};
    try {
      parsed = JSON.parse(value);
    } catch (error) {
      throw new NodeOperationError(context.getNode(), `${label} is not valid JSON`, {
        itemIndex,
        description: `Item ${itemIndex}: ${(error as Error).message}`,
      });
    }
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new NodeOperationError(context.getNode(), `${label} must be a JSON object`, {
      itemIndex,
      description: `Item ${itemIndex}: got ${Array.isArray(parsed) ? 'an array' : typeof parsed}; wrap the value in an object, e.g. {"value": …}.`,
    });
  }
  return parsed as IDataObject;
}

/**
 * The Idempotency-Key a Cortex node sends by default: stable for one item of one run of this node
 * in one execution. n8n's "Retry On Fail" repeats the node in the same execution and run, so a
 * retry after a lost answer replays the first result instead of acting twice; a loop (another
 * run of the node) or a new execution gets new keys. Undefined without an execution id.
 */
export function defaultIdempotencyKey(context: IExecuteFunctions, itemIndex: number): string | undefined {
  const executionId = context.getExecutionId();
  if (!executionId) return undefined;
  const runIndex = Number(context.evaluateExpression('{{ $runIndex }}', itemIndex) ?? 0);
  const nodeId = context.getNode().id || context.getNode().name;
  return `n8n-${executionId}-${nodeId}-${Number.isFinite(runIndex) ? runIndex : 0}-${itemIndex}`;
}
