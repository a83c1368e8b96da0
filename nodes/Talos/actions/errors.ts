// Failures → n8n errors: remote failures (gRPC status, Kubernetes Status, waits that ran out)
// become NodeApiError with the status and the node's hostname; bad parameters or credentials
// (talosconfig, kubeconfig, manifests) become NodeOperationError naming what is wrong.

import { NodeApiError, NodeOperationError, type INode, type JsonObject } from 'n8n-workflow';
import { TalosApiError } from '../transport/errors.ts';
import { TalosConfigError } from '../transport/talosconfig.ts';
import { KubeApiError, KubeConfigError } from '../transport/kubernetes.ts';
import { WaitTimeoutError } from '../transport/wait.ts';

export class ParameterError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ParameterError';
  }
}

// n8n replaces a message that mentions a Node error code (ECONNREFUSED, ETIMEDOUT, …) with a
// generic sentence that would drop the address; spell the codes out instead.
const CODE_WORDS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ECONNABORTED: 'connection aborted',
  ENOTFOUND: 'host not found',
  ETIMEDOUT: 'timed out',
  EHOSTUNREACH: 'host unreachable',
  EADDRNOTAVAIL: 'address not available',
  EAI_AGAIN: 'name lookup failed',
  GETADDRINFO: 'name lookup',
};

export function readable(message: string): string {
  return message.replace(/\b(ECONNREFUSED|ECONNRESET|ECONNABORTED|ENOTFOUND|ETIMEDOUT|EHOSTUNREACH|EADDRNOTAVAIL|EAI_AGAIN|GETADDRINFO)\b/gi, (code) => CODE_WORDS[code.toUpperCase()] ?? code);
}

/** A node that is installing, rebooting or not yet in time sync: worth asking again a little later. */
export function stillBooting(error: unknown): boolean {
  if (!(error instanceof TalosApiError)) return false;
  if (error.transient || error.codeName === 'DEADLINE_EXCEEDED') return true;
  return error.codeName === 'FAILED_PRECONDITION' && /boot|time|not ready|sync/i.test(error.message);
}

export function toNodeError(node: INode, error: unknown, itemIndex: number): NodeApiError | NodeOperationError {
  if (error instanceof NodeApiError || error instanceof NodeOperationError) return error;
  if (error instanceof TalosApiError) {
    return new NodeApiError(node, error.toJSON() as JsonObject, {
      message: readable(`${error.message} [${error.codeName} from ${error.where}]`),
      description: `Talos ${error.method} failed with gRPC status ${error.codeName} (${error.code}) on ${error.where}.`,
      itemIndex,
    });
  }
  if (error instanceof KubeApiError) {
    return new NodeApiError(node, (error.body ?? { message: error.message }) as JsonObject, {
      message: readable(`Kubernetes: ${error.message}`),
      description: `${error.reason}${error.statusCode ? ` (HTTP ${error.statusCode})` : ''}`,
      ...(error.statusCode ? { httpCode: String(error.statusCode) } : {}),
      itemIndex,
    });
  }
  if (error instanceof WaitTimeoutError) {
    return new NodeApiError(node, { message: error.message, progress: error.progress.slice(-20) } as JsonObject, {
      message: readable(error.message),
      description: readable(`Last progress:\n${error.progress.slice(-10).join('\n')}`),
      itemIndex,
    });
  }
  if (error instanceof TalosConfigError || error instanceof KubeConfigError || error instanceof ParameterError) {
    return new NodeOperationError(node, error.message, { itemIndex });
  }
  return new NodeOperationError(node, error instanceof Error ? error : new Error(String(error)), { itemIndex });
}
