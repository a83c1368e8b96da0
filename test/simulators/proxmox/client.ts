// A minimal Proxmox API client for the simulator's own tests (node:https, the simulator's CA).

import { request } from 'node:https';

export interface ApiResponse {
  status: number;
  /** The HTTP reason phrase (Proxmox puts its error text there). */
  reason: string;
  body: { data?: unknown; message?: string; errors?: Record<string, string>; total?: number; [key: string]: unknown };
}

export interface ApiAuth {
  token?: string;
  ticket?: string;
  csrf?: string;
}

export async function api(
  baseUrl: string,
  ca: string,
  method: string,
  path: string,
  options: { params?: Record<string, string | number>; auth?: ApiAuth; json?: boolean } = {},
): Promise<ApiResponse> {
  const url = new URL(`${baseUrl}/api2/json${path}`);
  const headers: Record<string, string> = {};
  if (options.auth?.token) headers.Authorization = `PVEAPIToken=${options.auth.token}`;
  if (options.auth?.ticket) headers.Cookie = `PVEAuthCookie=${encodeURIComponent(options.auth.ticket)}`;
  if (options.auth?.csrf) headers.CSRFPreventionToken = options.auth.csrf;
  let body: string | undefined;
  const params = Object.fromEntries(Object.entries(options.params ?? {}).map(([k, v]) => [k, String(v)]));
  if (method === 'GET' || method === 'DELETE') {
    for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  } else if (options.json) {
    body = JSON.stringify(options.params ?? {});
    headers['Content-Type'] = 'application/json';
  } else {
    body = new URLSearchParams(params).toString();
    headers['Content-Type'] = 'application/x-www-form-urlencoded';
  }
  return await new Promise<ApiResponse>((resolve, reject) => {
    const req = request(url, { method, headers, ca, timeout: 30_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: ApiResponse['body'] = {};
        try {
          parsed = text ? JSON.parse(text) : {};
        } catch {
          parsed = { data: text };
        }
        resolve({ status: res.statusCode ?? 0, reason: res.statusMessage ?? '', body: parsed });
      });
    });
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}
