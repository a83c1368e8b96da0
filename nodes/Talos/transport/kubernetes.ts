/* eslint-disable @n8n/community-nodes/require-node-api-error -- transport code has no node context: its typed errors are turned into NodeApiError/NodeOperationError by actions/errors.ts (the router) */
// Kubernetes API over plain HTTPS through n8n's request helper (no client library): kubeconfig
// parsing, API discovery (which path serves a kind, namespaced or not), server-side apply and the
// calls rollout/cordon/drain/Helm operations are built from. Failures carry the API's Status.

import type { IDataObject, IHttpRequestMethods, IHttpRequestOptions } from 'n8n-workflow';
import { request as httpsRequest } from 'node:https';
import { parse as parseYaml, parseAllDocuments } from 'yaml';

export interface KubeAccess {
  server: string;
  ca?: string;
  cert?: string;
  key?: string;
  token?: string;
  namespace: string;
  insecure: boolean;
}

export class KubeConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KubeConfigError';
  }
}

export class KubeApiError extends Error {
  readonly statusCode: number;
  readonly reason: string;
  readonly body: unknown;
  constructor(statusCode: number, reason: string, message: string, body: unknown) {
    super(message);
    this.name = 'KubeApiError';
    this.statusCode = statusCode;
    this.reason = reason;
    this.body = body;
  }
}

type Named<T> = { name?: string } & T;

function decodeData(value: unknown, what: string): string | undefined {
  if (typeof value !== 'string' || !value.trim()) return undefined;
  const text = Buffer.from(value.replace(/\s+/g, ''), 'base64').toString('utf8');
  if (!text.includes('-----BEGIN')) throw new KubeConfigError(`kubeconfig ${what} is not base64-encoded PEM`);
  return text;
}

export function parseKubeconfig(text: string, contextName?: string): KubeAccess {
  let config: any;
  try {
    config = parseYaml(text);
  } catch (error) {
    throw new KubeConfigError(`Kubeconfig is not valid YAML: ${(error as Error).message.split('\n')[0]}`);
  }
  if (!config || typeof config !== 'object' || !Array.isArray(config.contexts)) throw new KubeConfigError('Kubeconfig has no "contexts" list');
  const name = contextName?.trim() || config['current-context'];
  const context = (config.contexts as Array<Named<{ context?: any }>>).find((c) => c.name === name)?.context;
  if (!context) throw new KubeConfigError(`Kubeconfig has no context "${name ?? ''}" (available: ${config.contexts.map((c: Named<object>) => c.name).join(', ')})`);
  const cluster = (config.clusters ?? []).find((c: Named<{ cluster?: any }>) => c.name === context.cluster)?.cluster;
  if (!cluster?.server) throw new KubeConfigError(`Kubeconfig context "${name}" points at cluster "${context.cluster}", which has no server`);
  const user = (config.users ?? []).find((u: Named<{ user?: any }>) => u.name === context.user)?.user ?? {};
  return {
    server: String(cluster.server).replace(/\/+$/, ''),
    ca: decodeData(cluster['certificate-authority-data'], 'certificate-authority-data'),
    cert: decodeData(user['client-certificate-data'], 'client-certificate-data'),
    key: decodeData(user['client-key-data'], 'client-key-data'),
    token: typeof user.token === 'string' ? user.token : undefined,
    namespace: context.namespace || 'default',
    insecure: cluster['insecure-skip-tls-verify'] === true,
  };
}

/** Splits YAML (several documents, `List` kinds flattened) into objects; empty documents are skipped. */
export function parseManifests(text: string): IDataObject[] {
  const out: IDataObject[] = [];
  const docs = parseAllDocuments(text);
  for (const [index, doc] of docs.entries()) {
    if (doc.errors.length) throw new KubeConfigError(`Manifest document ${index + 1} is not valid YAML: ${doc.errors[0]!.message.split('\n')[0]}`);
    const value = doc.toJSON() as IDataObject | null;
    if (value === null || value === undefined) continue;
    if (typeof value !== 'object' || Array.isArray(value)) throw new KubeConfigError(`Manifest document ${index + 1} is not an object`);
    if (typeof value.kind === 'string' && value.kind.endsWith('List') && Array.isArray(value.items)) out.push(...(value.items as IDataObject[]));
    else out.push(value);
  }
  for (const [index, object] of out.entries()) {
    const metadata = object.metadata as IDataObject | undefined;
    if (!object.apiVersion || !object.kind || !metadata?.name) {
      throw new KubeConfigError(`Manifest object ${index + 1} needs apiVersion, kind and metadata.name`);
    }
  }
  return out;
}

export type HttpRequester = (options: IHttpRequestOptions) => Promise<any>;

export interface ResourceInfo {
  apiVersion: string;
  kind: string;
  plural: string;
  namespaced: boolean;
}

export interface KubeRequest {
  method: IHttpRequestMethods;
  path: string;
  qs?: IDataObject;
  body?: unknown;
  contentType?: string;
  timeoutMs?: number;
}

export class KubeClient {
  readonly access: KubeAccess;
  private readonly send: HttpRequester;
  private readonly discovery = new Map<string, ResourceInfo[]>();

  constructor(access: KubeAccess, send: HttpRequester) {
    this.access = access;
    this.send = send;
  }

  async request<T = any>(request: KubeRequest): Promise<T> {
    const headers: IDataObject = { Accept: 'application/json' };
    if (this.access.token) headers.Authorization = `Bearer ${this.access.token}`;
    let body: string | undefined;
    if (request.body !== undefined) {
      headers['Content-Type'] = request.contentType ?? 'application/json';
      body = typeof request.body === 'string' ? request.body : JSON.stringify(request.body);
    }
    const agentOptions: IDataObject = {};
    if (this.access.ca) agentOptions.ca = this.access.ca;
    if (this.access.cert && this.access.key) {
      agentOptions.cert = this.access.cert;
      agentOptions.key = this.access.key;
    }
    let response: { statusCode: number; body: unknown };
    try {
      response = await this.send({
        method: request.method,
        url: `${this.access.server}${request.path}`,
        qs: request.qs,
        headers,
        body,
        json: false,
        returnFullResponse: true,
        ignoreHttpStatusErrors: true,
        skipSslCertificateValidation: this.access.insecure,
        agentOptions,
        timeout: request.timeoutMs ?? 30_000,
      } as IHttpRequestOptions);
    } catch (error) {
      throw new KubeApiError(0, 'ConnectionFailed', `Cannot reach the Kubernetes API at ${this.access.server}: ${(error as Error).message}`, undefined);
    }
    const parsed = parseBody(response.body);
    if (response.statusCode >= 400) {
      const status = parsed as IDataObject | undefined;
      const message = typeof status?.message === 'string' ? status.message : `HTTP ${response.statusCode}`;
      throw new KubeApiError(response.statusCode, String(status?.reason ?? 'Unknown'), message, parsed);
    }
    return parsed as T;
  }

  /** Resource information for apiVersion + kind, from API discovery (cached per group version). */
  async resource(apiVersion: string, kind: string): Promise<ResourceInfo> {
    let resources = this.discovery.get(apiVersion);
    if (!resources) {
      const path = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
      let list: { resources?: Array<{ name: string; kind: string; namespaced: boolean }> };
      try {
        list = await this.request({ method: 'GET', path });
      } catch (error) {
        if (error instanceof KubeApiError && error.statusCode === 404) {
          throw new KubeApiError(404, 'NotFound', `The cluster does not serve ${apiVersion} (is the CRD installed?)`, error.body);
        }
        throw error;
      }
      resources = (list.resources ?? []).filter((r) => !r.name.includes('/')).map((r) => ({ apiVersion, kind: r.kind, plural: r.name, namespaced: r.namespaced }));
      this.discovery.set(apiVersion, resources);
    }
    const found = resources.find((r) => r.kind === kind);
    if (!found) throw new KubeApiError(404, 'NotFound', `The cluster serves no kind ${kind} in ${apiVersion}`, undefined);
    return found;
  }

  /** Path of a collection or an object. */
  path(info: ResourceInfo, namespace: string | undefined, name?: string, subresource?: string): string {
    const base = info.apiVersion.includes('/') ? `/apis/${info.apiVersion}` : `/api/${info.apiVersion}`;
    const ns = info.namespaced ? `/namespaces/${encodeURIComponent(namespace || this.access.namespace)}` : '';
    return `${base}${ns}/${info.plural}${name ? `/${encodeURIComponent(name)}` : ''}${subresource ? `/${subresource}` : ''}`;
  }

  /** Server-side apply of one object. */
  async apply(object: IDataObject, options: { fieldManager: string; force: boolean; dryRun: boolean; namespace?: string }): Promise<{ object: IDataObject; info: ResourceInfo; namespace?: string }> {
    const info = await this.resource(String(object.apiVersion), String(object.kind));
    const metadata = object.metadata as IDataObject;
    const namespace = info.namespaced ? String(metadata.namespace || options.namespace || this.access.namespace) : undefined;
    const body = info.namespaced ? { ...object, metadata: { ...metadata, namespace } } : object;
    const qs: IDataObject = { fieldManager: options.fieldManager };
    if (options.force) qs.force = 'true';
    if (options.dryRun) qs.dryRun = 'All';
    const result = await this.request<IDataObject>({
      method: 'PATCH',
      path: this.path(info, namespace, String(metadata.name)),
      qs,
      body,
      contentType: 'application/apply-patch+yaml',
    });
    return { object: result, info, namespace };
  }

  async get(apiVersion: string, kind: string, name: string, namespace?: string): Promise<IDataObject> {
    const info = await this.resource(apiVersion, kind);
    return await this.request({ method: 'GET', path: this.path(info, namespace, name) });
  }

  async list(apiVersion: string, kind: string, namespace: string | undefined, qs: IDataObject = {}): Promise<IDataObject[]> {
    const info = await this.resource(apiVersion, kind);
    const base = info.apiVersion.includes('/') ? `/apis/${info.apiVersion}` : `/api/${info.apiVersion}`;
    const path = info.namespaced && namespace ? this.path(info, namespace) : `${base}/${info.plural}`;
    const result = await this.request<{ items?: IDataObject[] }>({ method: 'GET', path, qs });
    return result.items ?? [];
  }

  async mergePatch(apiVersion: string, kind: string, name: string, namespace: string | undefined, patch: IDataObject, qs: IDataObject = {}, subresource?: string): Promise<IDataObject> {
    const info = await this.resource(apiVersion, kind);
    return await this.request({ method: 'PATCH', path: this.path(info, namespace, name, subresource), qs, body: patch, contentType: 'application/merge-patch+json' });
  }
}

function parseBody(body: unknown): unknown {
  if (Buffer.isBuffer(body)) body = body.toString('utf8');
  if (typeof body !== 'string') return body;
  if (!body) return undefined;
  try {
    return JSON.parse(body);
  } catch {
    return body;
  }
}

/**
 * GET /version straight over node:https, for the credential test (n8n's credential-test context
 * has no request helper that takes client certificates). Resolves with the gitVersion.
 */
export async function probeKubernetes(access: KubeAccess, timeoutMs: number): Promise<string> {
  const url = new URL('/version', access.server);
  return await new Promise<string>((resolve, reject) => {
    const req = httpsRequest(
      url,
      {
        method: 'GET',
        ca: access.ca,
        cert: access.cert,
        key: access.key,
        rejectUnauthorized: !access.insecure,
        headers: access.token ? { Authorization: `Bearer ${access.token}` } : {},
        timeout: timeoutMs,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk.length + text.length < 65536 ? chunk : ''));
        res.on('end', () => {
          if ((res.statusCode ?? 0) >= 400) reject(new KubeApiError(res.statusCode ?? 0, 'Unknown', `Kubernetes API at ${access.server} answered HTTP ${res.statusCode}: ${text.slice(0, 200)}`, text));
          else resolve(String((parseBody(text) as { gitVersion?: string } | undefined)?.gitVersion ?? 'unknown version'));
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (error) => reject(new KubeApiError(0, 'ConnectionFailed', `Cannot reach the Kubernetes API at ${access.server}: ${error.message}`, undefined)));
    req.end();
  });
}
