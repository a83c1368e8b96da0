// Talos call failures: the gRPC status (code and name), the method, the endpoint dialled, the
// target node and, when known, the hostname it reported; plus a readable message for the common
// connection problems (unreachable address, TLS trust, missing client certificate).

import { status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';

export interface TalosErrorContext {
  code: number;
  method: string;
  endpoint: string;
  node?: string;
  hostname?: string;
  /** The raw gRPC details, when the message was rewritten. */
  details?: string;
}

const STATUS_NAMES = new Map<number, string>(Object.entries(GrpcStatus).map(([name, code]) => [code as number, name]));

export function statusName(code: number): string {
  return STATUS_NAMES.get(code) ?? `CODE_${code}`;
}

export class TalosApiError extends Error {
  readonly code: number;
  readonly codeName: string;
  readonly method: string;
  readonly endpoint: string;
  readonly node: string | undefined;
  readonly hostname: string | undefined;
  readonly details: string | undefined;

  constructor(message: string, context: TalosErrorContext) {
    super(message);
    this.name = 'TalosApiError';
    this.code = context.code;
    this.codeName = statusName(context.code);
    this.method = context.method;
    this.endpoint = context.endpoint;
    this.node = context.node;
    this.hostname = context.hostname;
    this.details = context.details;
  }

  /** Where the failure happened, for messages: "node cp-1 (10.5.0.2) via 10.5.0.10:50000". */
  get where(): string {
    const node = this.node ?? this.endpoint;
    const label = this.hostname && this.hostname !== node ? `${this.hostname} (${node})` : node;
    return this.node ? `node ${label} via ${this.endpoint}` : `node ${label}`;
  }

  /** Failures worth retrying while a node reboots: it is down or the connection dropped. */
  get transient(): boolean {
    return this.code === GrpcStatus.UNAVAILABLE || (this.code === GrpcStatus.INTERNAL && /RST_STREAM|ECONNRESET|closed/i.test(this.message));
  }

  toJSON(): Record<string, unknown> {
    return {
      message: this.message,
      grpcCode: this.code,
      grpcStatus: this.codeName,
      method: this.method,
      endpoint: this.endpoint,
      node: this.node,
      hostname: this.hostname,
    };
  }
}

interface FailureContext {
  method: string;
  endpoint: string;
  node?: string;
  hostname?: string;
  insecure: boolean;
}

/** Turns a grpc-js ServiceError into a TalosApiError with a message a person can act on. */
export function describeGrpcFailure(error: ServiceError, context: FailureContext): TalosApiError {
  const code = typeof error?.code === 'number' ? error.code : GrpcStatus.UNKNOWN;
  const details = String(error?.details ?? error?.message ?? error)
    .replace(/\.?\s*Resolution note:\s*$/, '')
    .trim();
  let message = details;
  const tls = /certificate|self[- ]signed|ssl|tls|handshake|alert|unable to verify|UNABLE_TO/i;
  if (code === GrpcStatus.UNAVAILABLE && tls.test(details)) {
    if (/alert|certificate required|handshake failure|bad certificate/i.test(details) && !/verify|self[- ]signed|UNABLE_TO/i.test(details)) {
      message = `TLS handshake with ${context.endpoint} failed: the server refused the client certificate (is it issued by this cluster's CA?). ${details}`;
    } else {
      message = `TLS handshake with ${context.endpoint} failed: the server certificate is not signed by the credential's CA (wrong CA, or a node in maintenance mode?). ${details}`;
    }
  } else if (code === GrpcStatus.UNAVAILABLE) {
    message = `Cannot reach the Talos API at ${context.endpoint}${context.node ? ` (node ${context.node})` : ''}: ${details}`;
  } else if (code === GrpcStatus.DEADLINE_EXCEEDED && /^deadline exceeded/i.test(details)) {
    message = `Talos API at ${context.endpoint} did not answer ${context.method} in time${context.node ? ` (node ${context.node})` : ''}: ${details}`;
  } else if (code === GrpcStatus.UNIMPLEMENTED && context.insecure) {
    message = `${context.method} is not available in maintenance mode: ${details}`;
  }
  return new TalosApiError(message, { ...context, code, details });
}
