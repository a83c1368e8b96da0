// A loopback HTTP proxy in front of a real Cortex service, so a test can see what a node sent
// and step in at an exact moment: answer a request itself, or act (e.g. complete a handoff)
// between forwarding a request and answering it.

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ProxiedRequest {
  method: string;
  /** Path and query, as received. */
  url: string;
  headers: Record<string, string>;
  body: string;
}

export interface ProxiedResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * Decides one request: return a response to answer with it (after calling forward() or not),
 * or undefined to forward the request unchanged.
 */
export type ProxyHook = (request: ProxiedRequest, forward: () => Promise<ProxiedResponse>) => Promise<ProxiedResponse | undefined> | ProxiedResponse | undefined;

export interface ServiceProxy {
  url: string;
  /** Every request received, in order. */
  requests: ProxiedRequest[];
  hook: ProxyHook | undefined;
  close(): Promise<void>;
}

const HOP_BY_HOP = new Set(['host', 'connection', 'content-length', 'transfer-encoding', 'keep-alive']);

export async function startServiceProxy(target: () => string): Promise<ServiceProxy> {
  const proxy: ServiceProxy = { url: '', requests: [], hook: undefined, close: async () => {} };
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += String(chunk)));
    req.on('end', () => {
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers)) {
        if (!HOP_BY_HOP.has(name) && value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
      }
      const request: ProxiedRequest = { method: req.method ?? 'GET', url: req.url ?? '/', headers, body };
      proxy.requests.push(request);
      const forward = async (): Promise<ProxiedResponse> => {
        const response = await fetch(`${target()}${request.url}`, {
          method: request.method,
          headers: request.headers,
          body: ['GET', 'HEAD'].includes(request.method) ? undefined : request.body,
        });
        const answerHeaders: Record<string, string> = {};
        response.headers.forEach((value, name) => {
          if (!HOP_BY_HOP.has(name) && name !== 'content-encoding') answerHeaders[name] = value;
        });
        return { status: response.status, headers: answerHeaders, body: await response.text() };
      };
      void (async () => {
        try {
          const answer = (await proxy.hook?.(request, forward)) ?? (await forward());
          res.writeHead(answer.status, answer.headers);
          res.end(answer.body);
        } catch (error) {
          res.writeHead(502, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: { code: 'proxy_error', message: (error as Error).message, details: [] } }));
        }
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return proxy;
}
