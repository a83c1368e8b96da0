// HTTP to the Cortex service for every Cortex node: credentials, TLS options, and the
// service's error JSON turned into a NodeApiError that carries its message and details.

import { NodeApiError } from 'n8n-workflow';
import type {
  IDataObject,
  IExecuteFunctions,
  IHookFunctions,
  IHttpRequestMethods,
  IHttpRequestOptions,
  ILoadOptionsFunctions,
  IWebhookFunctions,
  JsonObject,
} from 'n8n-workflow';

export type CortexContext = IExecuteFunctions | IHookFunctions | ILoadOptionsFunctions | IWebhookFunctions;

export interface CortexRequest {
  method: IHttpRequestMethods;
  path: string;
  body?: IDataObject;
  qs?: IDataObject;
  headers?: IDataObject;
  itemIndex?: number;
}

interface ServiceError {
  error?: { code?: string; message?: string; details?: { path: string; message: string }[] };
}

/** Base URL and TLS options from the credential. */
export async function cortexConnection(context: CortexContext): Promise<{ baseUrl: string; tls: Partial<IHttpRequestOptions> }> {
  const credentials = await context.getCredentials('cortexApi');
  const baseUrl = String(credentials.url ?? '').replace(/\/+$/, '');
  const ca = typeof credentials.ca === 'string' && credentials.ca.trim() ? credentials.ca.trim() : undefined;
  return {
    baseUrl,
    tls: {
      skipSslCertificateValidation: credentials.ignoreSslIssues === true,
      ...(ca ? { agentOptions: { ca } } : {}),
    },
  };
}

/** Calls the service; a 4xx/5xx answer becomes a NodeApiError with the service's own message. */
export async function cortexRequest<T = IDataObject>(context: CortexContext, request: CortexRequest): Promise<T> {
  const { baseUrl, tls } = await cortexConnection(context);
  const options: IHttpRequestOptions = {
    method: request.method,
    url: `${baseUrl}${request.path}`,
    json: true,
    returnFullResponse: true,
    ignoreHttpStatusErrors: true,
    ...tls,
    ...(request.body !== undefined ? { body: request.body } : {}),
    ...(request.qs ? { qs: request.qs } : {}),
    ...(request.headers ? { headers: request.headers } : {}),
  };
  let response: { statusCode: number; body: unknown };
  try {
    response = (await context.helpers.httpRequestWithAuthentication.call(context, 'cortexApi', options)) as typeof response;
  } catch (error) {
    // Only the message (a code would make n8n swap our message for a generic one): the raw HTTP error carries
    // the request, Authorization header included.
    throw new NodeApiError(context.getNode(), { message: (error as Error).message ?? String(error) } as JsonObject, {
      message: `Cannot reach the Cortex service at ${baseUrl}`,
      description: (error as Error).message,
      ...(request.itemIndex !== undefined ? { itemIndex: request.itemIndex } : {}),
    });
  }
  if (response.statusCode >= 400) {
    const body = (response.body ?? {}) as ServiceError;
    const details = body.error?.details ?? [];
    throw new NodeApiError(context.getNode(), (body as JsonObject) ?? {}, {
      message: body.error?.message ?? `Cortex answered HTTP ${response.statusCode}`,
      description: details.length ? details.map((detail) => `${detail.path}: ${detail.message}`).join('\n') : body.error?.code,
      httpCode: String(response.statusCode),
      ...(request.itemIndex !== undefined ? { itemIndex: request.itemIndex } : {}),
    });
  }
  return response.body as T;
}

/** Follows next_cursor until done or `limit` items (0: all). Bounded by `maxPages`. */
export async function cortexList(
  context: CortexContext,
  path: string,
  qs: IDataObject,
  limit: number,
  itemIndex: number,
  maxPages = 1000,
): Promise<IDataObject[]> {
  const items: IDataObject[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < maxPages; page++) {
    const pageSize = limit > 0 ? Math.min(500, limit - items.length) : 500;
    const answer: { items: IDataObject[]; next_cursor: string | null } = await cortexRequest(context, {
      method: 'GET',
      path,
      qs: { ...qs, limit: pageSize, ...(cursor ? { cursor } : {}) },
      itemIndex,
    });
    items.push(...answer.items);
    cursor = answer.next_cursor;
    if (!cursor || (limit > 0 && items.length >= limit)) break;
  }
  return limit > 0 ? items.slice(0, limit) : items;
}
