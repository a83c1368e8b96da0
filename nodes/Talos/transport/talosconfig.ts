/* eslint-disable @n8n/community-nodes/require-node-api-error -- transport code has no node context: its typed errors are turned into NodeApiError/NodeOperationError by actions/errors.ts (the router) */
// Talos connection settings from the credential: a pasted talosconfig (one context chosen by
// name, the current one by default) or endpoints with PEM material; Ed25519 keys as Talos writes
// them; maintenance mode without a client certificate. Problems are TalosConfigErrors whose
// message names the field and what is wrong with it.

import { parse as parseYaml } from 'yaml';
import type { TalosConnection } from './client.ts';

export class TalosConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TalosConfigError';
  }
}

export interface TalosCredentialData {
  source?: string; // 'talosconfig' | 'manual'
  talosconfig?: string;
  context?: string;
  endpoints?: string;
  ca?: string;
  crt?: string;
  key?: string;
  maintenance?: boolean;
}

export interface ResolvedTalos extends TalosConnection {
  /** Context name (talosconfig) or 'manual'. */
  contextName: string;
  /** Nodes listed in the talosconfig context (informational; calls target one node each). */
  nodes: string[];
}

const PEM = /-----BEGIN [A-Z0-9 ]+-----[\s\S]+?-----END [A-Z0-9 ]+-----/;

/** PEM text or base64 of PEM text (talosconfig stores base64) → PEM; `what` names the field. */
export function pemFrom(value: unknown, what: string, label: RegExp): string {
  const text = typeof value === 'string' ? value.trim() : '';
  if (!text) throw new TalosConfigError(`${what} is empty`);
  let pem = text;
  if (!PEM.test(text)) {
    const decoded = /^[A-Za-z0-9+/=\s]+$/.test(text) ? Buffer.from(text.replace(/\s+/g, ''), 'base64').toString('utf8') : '';
    if (!PEM.test(decoded)) throw new TalosConfigError(`${what} is neither PEM nor base64-encoded PEM`);
    pem = decoded;
  }
  const header = /-----BEGIN ([A-Z0-9 ]+)-----/.exec(pem)?.[1] ?? '';
  if (!label.test(header)) throw new TalosConfigError(`${what} holds a "${header}" PEM block, expected ${label.source.replace(/[\^$()]/g, '')}`);
  return `${pem.trim()}\n`;
}

const CERT = /^CERTIFICATE$/;
const KEY = /^(ED25519 |EC |RSA )?PRIVATE KEY$/;

function endpointList(value: unknown): string[] {
  const list = Array.isArray(value) ? value : typeof value === 'string' ? value.split(/[\s,]+/) : [];
  return list.map((e) => String(e).trim()).filter(Boolean);
}

export function resolveTalosCredential(data: TalosCredentialData): ResolvedTalos {
  const maintenance = data.maintenance === true;
  if ((data.source ?? 'talosconfig') === 'manual') {
    const endpoints = endpointList(data.endpoints);
    if (!endpoints.length && !maintenance) throw new TalosConfigError('Endpoints is empty: give at least one Talos API address (host or host:port)');
    if (maintenance) return { contextName: 'manual', endpoints, nodes: [], insecure: true };
    return {
      contextName: 'manual',
      endpoints,
      nodes: [],
      ca: pemFrom(data.ca, 'CA Certificate', CERT),
      cert: pemFrom(data.crt, 'Client Certificate', CERT),
      key: pemFrom(data.key, 'Client Key', KEY),
    };
  }

  const text = (data.talosconfig ?? '').trim();
  if (!text) throw new TalosConfigError('Talosconfig is empty: paste the content of your talosconfig file');
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (error) {
    throw new TalosConfigError(`Talosconfig is not valid YAML: ${(error as Error).message.split('\n')[0]}`);
  }
  const config = parsed as { context?: string; contexts?: Record<string, Record<string, unknown>> } | null;
  if (!config || typeof config !== 'object' || !config.contexts || typeof config.contexts !== 'object') {
    throw new TalosConfigError('Talosconfig has no "contexts" map: is this a talosconfig (not a kubeconfig or machine config)?');
  }
  const names = Object.keys(config.contexts);
  const contextName = (data.context ?? '').trim() || config.context || '';
  if (!contextName) throw new TalosConfigError(`Talosconfig has no current "context"; set Context to one of: ${names.join(', ') || '(none)'}`);
  const context = config.contexts[contextName];
  if (!context || typeof context !== 'object') {
    throw new TalosConfigError(`Talosconfig has no context "${contextName}" (available: ${names.join(', ') || 'none'})`);
  }
  const endpoints = endpointList(context.endpoints);
  if (!endpoints.length && !maintenance) throw new TalosConfigError(`Talosconfig context "${contextName}" has no endpoints`);
  const nodes = endpointList(context.nodes);
  if (maintenance) return { contextName, endpoints, nodes, insecure: true };
  return {
    contextName,
    endpoints,
    nodes,
    ca: pemFrom(context.ca, `Talosconfig context "${contextName}": ca`, CERT),
    cert: pemFrom(context.crt, `Talosconfig context "${contextName}": crt`, CERT),
    key: pemFrom(context.key, `Talosconfig context "${contextName}": key`, KEY),
  };
}
