// gRPC client for the Talos machine API over mutual TLS (or, in maintenance mode, TLS without
// a client certificate and without verifying the node's self-signed certificate).
//
// - One channel per TalosClient (close() it when the node is done); calls carry a deadline.
// - A call targets one node through the endpoint with the `node` metadata (Talos apid proxy).
// - Unary replies are {messages: [...]}, each with metadata {hostname, error, status}; an error in
//   a message's metadata becomes a TalosApiError like a gRPC status does.
// - Server streams are async iterables of decoded messages.

import * as grpc from '@grpc/grpc-js';
import { method as lookupMethod, encode, decode, type MethodInfo } from './proto.ts';
import { TalosApiError, describeGrpcFailure } from './errors.ts';

export const TALOS_PORT = 50000;

export interface TalosConnection {
  /** host or host:port; equivalent apid proxies: IP endpoints fail over in order, of host names the first is used. */
  endpoints: string[];
  /** PEM CA certificate trusted for the server (not used in maintenance mode). */
  ca?: string;
  /** PEM client certificate and key (Ed25519 keys may be labelled "ED25519 PRIVATE KEY"). */
  cert?: string;
  key?: string;
  /** Maintenance mode: no client certificate, the node's self-signed certificate is not verified. */
  insecure?: boolean;
}

export interface CallOptions {
  /** Target node (IP or hostname) sent as `node` metadata; omitted: the endpoint itself answers. */
  node?: string;
  /** Deadline for the whole call, in milliseconds. */
  timeoutMs: number;
}

/** Node's TLS refuses the "ED25519 PRIVATE KEY" label Talos writes; the content is PKCS#8 either way. */
export function normalizeKeyPem(pem: string): string {
  return pem.replace(/-----(BEGIN|END) ED25519 PRIVATE KEY-----/g, '-----$1 PRIVATE KEY-----');
}

/** host, host:port, [v6]:port or a URL → host:port with the Talos port by default. */
export function normalizeEndpoint(endpoint: string): string {
  let value = endpoint.trim().replace(/^[a-z]+:\/\//i, '').replace(/\/.*$/, '');
  if (!value) throw new Error('empty endpoint');
  if (value.startsWith('[')) return value.includes(']:') ? value : `${value}:${TALOS_PORT}`;
  const colons = (value.match(/:/g) ?? []).length;
  if (colons === 0) value = `${value}:${TALOS_PORT}`;
  else if (colons > 1) value = `[${value}]:${TALOS_PORT}`;
  return value;
}

const IPV4 = /^\d{1,3}(\.\d{1,3}){3}:\d+$/;
const IPV6 = /^\[[0-9a-f:.]+\]:\d+$/i;

/**
 * The gRPC target for the endpoints. Several IP endpoints become one `ipv4:`/`ipv6:` target whose
 * pick_first policy tries them in order and moves to the next one when a connection fails, as
 * talosctl fails over between endpoints. Host names (and a mix of families) use the first endpoint.
 */
export function channelTarget(endpoints: string[]): { target: string; dialled: string[] } {
  const all = endpoints.map(normalizeEndpoint);
  if (all.length > 1 && all.every((e) => IPV4.test(e))) return { target: `ipv4:${all.join(',')}`, dialled: all };
  if (all.length > 1 && all.every((e) => IPV6.test(e))) return { target: `ipv6:${all.join(',')}`, dialled: all };
  return { target: all[0]!, dialled: [all[0]!] };
}

export class TalosClient {
  /** The endpoint(s) dialled, for messages: one address, or the failover list joined by ", ". */
  readonly endpoint: string;
  readonly connection: TalosConnection;
  private readonly client: grpc.Client;
  private readonly hostnames = new Map<string, string>();

  constructor(connection: TalosConnection) {
    this.connection = connection;
    if (!connection.endpoints.length) throw new Error('no Talos endpoint given');
    const { target, dialled } = channelTarget(connection.endpoints);
    this.endpoint = dialled.join(', ');
    const skipHostname = { checkServerIdentity: () => undefined };
    const credentials = connection.insecure
      ? grpc.credentials.createSsl(null, null, null, { ...skipHostname, rejectUnauthorized: false })
      : grpc.credentials.createSsl(
          connection.ca ? Buffer.from(connection.ca) : null,
          connection.key && connection.cert ? Buffer.from(normalizeKeyPem(connection.key)) : null,
          connection.key && connection.cert ? Buffer.from(connection.cert) : null,
          skipHostname,
        );
    this.client = new grpc.Client(target, credentials, {
      'grpc.max_receive_message_length': 64 * 1024 * 1024,
      'grpc.initial_reconnect_backoff_ms': 200,
      'grpc.max_reconnect_backoff_ms': 2000,
      'grpc.enable_retries': 0,
    });
  }

  close(): void {
    this.client.close();
  }

  /** Hostname a node reported in an earlier reply (or undefined). */
  hostnameOf(node: string | undefined): string | undefined {
    return this.hostnames.get(node ?? '');
  }

  private metadata(node: string | undefined): grpc.Metadata {
    const metadata = new grpc.Metadata();
    if (node) metadata.set('node', node);
    return metadata;
  }

  private remember(node: string | undefined, message: Record<string, any>): void {
    const hostname = message?.metadata?.hostname;
    if (typeof hostname === 'string' && hostname) this.hostnames.set(node ?? '', hostname);
  }

  private failure(info: MethodInfo, options: CallOptions, error: unknown): TalosApiError {
    if (error instanceof TalosApiError) return error;
    return describeGrpcFailure(error as grpc.ServiceError, {
      method: info.name,
      endpoint: this.endpoint,
      node: options.node,
      hostname: this.hostnameOf(options.node),
      insecure: this.connection.insecure === true,
    });
  }

  /**
   * A failed call names the node's hostname when it can: from an earlier reply, or (for errors
   * the node itself answered, not connection failures) from a quick Version call.
   */
  private async withHostname(error: unknown, options: CallOptions): Promise<unknown> {
    if (!(error instanceof TalosApiError) || error.hostname || !options.node || error.transient || error.codeName === 'DEADLINE_EXCEEDED') return error;
    if (!this.hostnames.has(options.node)) {
      const info = lookupMethod('machine.MachineService', 'Version');
      await new Promise<void>((resolve) => {
        this.client.makeUnaryRequest(
          info.path,
          (value: object) => encode(info.requestType, value),
          (bytes: Buffer) => decode(info.responseType, bytes),
          {},
          this.metadata(options.node),
          { deadline: Date.now() + Math.min(2000, options.timeoutMs) },
          (failure, value) => {
            if (!failure && value) for (const message of (value as { messages?: Array<Record<string, any>> }).messages ?? []) this.remember(options.node, message);
            resolve();
          },
        );
      });
    }
    const hostname = this.hostnameOf(options.node);
    if (!hostname) return error;
    return new TalosApiError(error.message, { code: error.code, method: error.method, endpoint: error.endpoint, node: error.node, hostname, details: error.details });
  }

  /** A unary call; returns the reply's `messages`, throwing on a gRPC status or a message error. */
  async unary(service: string, name: string, request: object, options: CallOptions): Promise<Array<Record<string, any>>> {
    const info = lookupMethod(service, name);
    const reply = await new Promise<Record<string, any>>((resolve, reject) => {
      this.client.makeUnaryRequest(
        info.path,
        (value: object) => encode(info.requestType, value),
        (bytes: Buffer) => decode(info.responseType, bytes),
        request,
        this.metadata(options.node),
        { deadline: Date.now() + options.timeoutMs },
        (error, value) => (error ? reject(this.failure(info, options, error)) : resolve(value ?? {})),
      );
    }).catch(async (error: unknown) => await Promise.reject(await this.withHostname(error, options)));
    return this.messagesOf(info, options, reply);
  }

  /** A reply's `messages`; an error in a message's metadata (one node of several failing) is thrown. */
  private messagesOf(info: MethodInfo, options: CallOptions, reply: Record<string, any>): Array<Record<string, any>> {
    const messages: Array<Record<string, any>> = Array.isArray(reply.messages) ? reply.messages : [reply];
    for (const message of messages) this.check(info, options, message);
    return messages;
  }

  /** Remembers the hostname a reply message reports and throws the error in its metadata, if any. */
  private check(info: MethodInfo, options: CallOptions, message: Record<string, any>): void {
    this.remember(options.node, message);
    const problem = message?.metadata?.error || message?.metadata?.status?.message;
    if (!problem) return;
    throw new TalosApiError(String(problem), {
      code: Number(message.metadata.status?.code ?? grpc.status.UNKNOWN),
      method: info.name,
      endpoint: this.endpoint,
      node: options.node,
      hostname: message.metadata.hostname || this.hostnameOf(options.node),
    });
  }

  /**
   * A client-streaming call that uploads `data` as common.Data chunks (EtcdRecover), respecting
   * the stream's back-pressure; returns the reply's `messages` like a unary call.
   */
  async upload(service: string, name: string, data: Buffer, options: CallOptions, chunkBytes = 64 * 1024): Promise<Array<Record<string, any>>> {
    const info = lookupMethod(service, name);
    const reply = await new Promise<Record<string, any>>((resolve, reject) => {
      const call = this.client.makeClientStreamRequest(
        info.path,
        (value: object) => encode(info.requestType, value),
        (bytes: Buffer) => decode(info.responseType, bytes),
        this.metadata(options.node),
        { deadline: Date.now() + options.timeoutMs },
        (error, value) => (error ? reject(this.failure(info, options, error)) : resolve(value ?? {})),
      );
      let offset = 0;
      const pump = () => {
        while (offset < data.length) {
          const chunk = data.subarray(offset, offset + chunkBytes);
          offset += chunk.length;
          if (!call.write({ bytes: chunk })) return void call.once('drain', pump);
        }
        call.end();
      };
      pump();
    }).catch(async (error: unknown) => await Promise.reject(await this.withHostname(error, options)));
    return this.messagesOf(info, options, reply);
  }

  /**
   * A server-streaming call, started now (so nothing sent after this returns is missed), read as
   * an async iterable; leaving the loop early cancels the call.
   */
  stream(service: string, name: string, request: object, options: CallOptions): AsyncGenerator<Record<string, any>> {
    const info = lookupMethod(service, name);
    const call = this.client.makeServerStreamRequest(
      info.path,
      (value: object) => encode(info.requestType, value),
      (bytes: Buffer) => decode(info.responseType, bytes),
      request,
      this.metadata(options.node),
      { deadline: Date.now() + options.timeoutMs },
    );
    // Errors before the first read are kept by the stream; don't let them go unhandled meanwhile.
    call.on('error', () => undefined);
    const messages = this.read(info, call, options);
    // return() on a generator not read yet skips its finally: cancel the call here too.
    const finish = messages.return.bind(messages);
    messages.return = async (value) => {
      call.cancel();
      return await finish(value);
    };
    return messages;
  }

  private async *read(info: MethodInfo, call: grpc.ClientReadableStream<unknown>, options: CallOptions): AsyncGenerator<Record<string, any>> {
    try {
      for await (const message of call as AsyncIterable<Record<string, any>>) {
        this.check(info, options, message);
        yield message;
      }
    } catch (error) {
      throw this.failure(info, options, error);
    } finally {
      call.cancel();
    }
  }

  /** Collects the bytes of a stream of common.Data (kubeconfig, etcd snapshot, file reads). */
  async readAll(service: string, name: string, request: object, options: CallOptions, maxBytes = 2 * 1024 * 1024 * 1024): Promise<Buffer> {
    const chunks: Buffer[] = [];
    let total = 0;
    for await (const message of this.stream(service, name, request, options)) {
      const bytes = message.bytes as Buffer | undefined;
      if (!bytes?.length) continue;
      total += bytes.length;
      if (total > maxBytes) throw new Error(`${name} stream exceeded ${maxBytes} bytes`);
      chunks.push(bytes);
    }
    return Buffer.concat(chunks, total);
  }
}
