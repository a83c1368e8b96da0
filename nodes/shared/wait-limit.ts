// n8n's wait limit for nodes that pause the execution and resume on a webhook (the Wait
// node's pattern: restartWebhook + putExecutionToWait).
//
// When waitTill passes without a webhook call, n8n resumes the node WITHOUT running it: it
// disables the node and forwards the node's stack entry's data (WorkflowExecute
// handleWaitingState + handleDisabledNode). Left alone that is the node's INPUT on output 0 —
// for a gate node, its "success" output. prepareWaitLimitExit replaces the entry's data with
// the outputs the node wants for that case (e.g. [[], [item]] or [[], [], [item]]) and sets
// the metadata flag forwardAllOutputs (the one n8n's own webhook resume sets), so every
// output passes as given. The entry's source gets one input per output, all equal to the
// node's real input, because n8n pairs the items of data.main[k] with input k: an item on a
// later output then still pairs with the waiting item ($('Earlier Node').item works).

import { NodeOperationError, WAIT_INDEFINITELY } from 'n8n-workflow';
import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

export const UNIT_MS: Readonly<Record<string, number>> = { seconds: 1000, minutes: 60_000, hours: 3_600_000, days: 86_400_000 };

/** What n8n forwards if the wait limit ends the wait: call right before putExecutionToWait. */
export function prepareWaitLimitExit(context: IExecuteFunctions, outputs: INodeExecutionData[][]): void {
  const executeData = context.getExecuteData();
  executeData.data = { ...executeData.data, main: outputs };
  context.setMetadata({ forwardAllOutputs: true });
  const origin = executeData.source?.main?.[0];
  if (origin) executeData.source = { ...executeData.source, main: outputs.map(() => origin) };
}

/** `amount` × `unit` from now; WAIT_INDEFINITELY when the limit is off. */
export function waitLimitDate(context: IExecuteFunctions, enabled: boolean, amount: number, unit: string, label = 'Max Wait'): Date {
  if (!enabled) return WAIT_INDEFINITELY;
  const ms = amount * (UNIT_MS[unit] ?? UNIT_MS.days!);
  if (!Number.isFinite(ms) || ms < 0) {
    throw new NodeOperationError(context.getNode(), `${label} must be a positive number`, { itemIndex: 0 });
  }
  return new Date(Date.now() + ms);
}

/** The resume URL of this execution ($execution.resumeUrl); a NodeOperationError without one. */
export function resumeUrlOf(context: IExecuteFunctions, itemIndex: number, what: string): string {
  const resumeUrl = String(context.evaluateExpression('{{ $execution.resumeUrl }}', itemIndex) ?? '');
  if (!/^https?:\/\//.test(resumeUrl)) {
    throw new NodeOperationError(context.getNode(), 'n8n has no resume URL for this execution', {
      itemIndex,
      description: `Got "${resumeUrl}". ${what} needs an execution that n8n can resume (not a partial manual run of this node alone).`,
    });
  }
  return resumeUrl;
}
