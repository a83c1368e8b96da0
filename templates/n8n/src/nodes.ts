// Node factories: n8n-nodes-base nodes at typeVersions that exist in n8n 2.41.1 and the Cortex
// package's nodes, with the parameter names and option values of their descriptions.
// Credentials are placeholders (id and name) that a user re-links after import; no secrets.

import { stableUuid, type CredentialRef, type NodeSpec, type Parameters } from './builder.ts';

// ---------------------------------------------------------------------------- credentials

const cred = (id: string, name: string): CredentialRef => ({ id, name });

export const CREDENTIALS = {
  cortexN8n: cred('cortex-n8n-contractor', 'Cortex (n8n-contractor)'),
  cortexInfrastructure: cred('cortex-infrastructure-contractor', 'Cortex (infrastructure-contractor)'),
  cortexTalos: cred('cortex-talos-contractor', 'Cortex (talos-contractor)'),
  proxmox: cred('proxmox-ve', 'Proxmox VE'),
  proxmoxPrimary: cred('proxmox-ve-primary-site', 'Proxmox VE (primary site)'),
  proxmoxDr: cred('proxmox-ve-dr-site', 'Proxmox VE (DR site)'),
  talos: cred('talos-cluster', 'Talos cluster'),
  talosDr: cred('talos-cluster-dr-site', 'Talos cluster (DR site)'),
  talosMaintenance: cred('talos-maintenance', 'Talos maintenance mode'),
  webhookToken: cred('cortex-webhook-token', 'Cortex webhook token'),
  githubSecret: cred('github-webhook-secret', 'GitHub webhook secret'),
  githubApi: cred('github-api', 'GitHub API'),
} as const;

export type CredentialKey = keyof typeof CREDENTIALS;

// ---------------------------------------------------------------------------- expressions

/** An n8n expression parameter: `={{ code }}`. */
export const expr = (code: string): string => `={{ ${code} }}`;

/** A template string with embedded expressions: `=text {{ code }} text`. */
export const tmpl = (text: string): string => `=${text}`;

// ---------------------------------------------------------------------------- n8n-nodes-base

type Extra = Partial<Omit<NodeSpec, 'name' | 'type' | 'typeVersion' | 'parameters'>>;

export function webhook(
  name: string,
  path: string,
  options: { method?: 'POST' | 'GET'; auth?: 'headerAuth' | 'none'; rawBody?: boolean; respond?: 'responseNode' | 'onReceived' } = {},
): NodeSpec {
  const auth = options.auth ?? 'headerAuth';
  return {
    name,
    type: 'n8n-nodes-base.webhook',
    typeVersion: 2.1,
    parameters: {
      httpMethod: options.method ?? 'POST',
      path,
      authentication: auth,
      responseMode: options.respond ?? 'responseNode',
      options: options.rawBody ? { rawBody: true } : {},
    },
    ...(auth === 'headerAuth' ? { credentials: { httpHeaderAuth: CREDENTIALS.webhookToken } } : {}),
  };
}

export function respond(name: string, code: number | string, body: string): NodeSpec {
  return {
    name,
    type: 'n8n-nodes-base.respondToWebhook',
    typeVersion: 1.4,
    parameters: { respondWith: 'json', responseBody: body, options: { responseCode: code } },
  };
}

export type FieldType = 'string' | 'number' | 'boolean' | 'array' | 'object';

/** Edit Fields (Set) in manual mode: [name, type, value] rows. */
export function set(name: string, fields: Array<[string, FieldType, unknown]>, options: { keepOthers?: boolean } & Extra = {}): NodeSpec {
  const { keepOthers, ...extra } = options;
  return {
    name,
    type: 'n8n-nodes-base.set',
    typeVersion: 3.4,
    parameters: {
      mode: 'manual',
      assignments: {
        assignments: fields.map(([field, type, value]) => ({ id: stableUuid(`${name}/${field}`), name: field, value, type })),
      },
      includeOtherFields: keepOthers ?? false,
      options: {},
    },
    ...extra,
  };
}

const filterOptions = { caseSensitive: true, leftValue: '', typeValidation: 'strict', version: 2 };

/** If: true when the JavaScript condition (an expression that yields a boolean) holds. */
export function ifTrue(name: string, condition: string, extra: Extra = {}): NodeSpec {
  return {
    name,
    type: 'n8n-nodes-base.if',
    typeVersion: 2.2,
    parameters: {
      conditions: {
        options: filterOptions,
        conditions: [{ id: stableUuid(`${name}/condition`), leftValue: expr(condition), rightValue: '', operator: { type: 'boolean', operation: 'true', singleValue: true } }],
        combinator: 'and',
      },
      options: {},
    },
    ...extra,
  };
}

/** Switch in rules mode: one output per key (the value of `valueCode` equals the key), then a fallback output. */
export function switchOn(name: string, valueCode: string, keys: string[], fallbackName = 'Unknown'): NodeSpec {
  return {
    name,
    type: 'n8n-nodes-base.switch',
    typeVersion: 3.2,
    parameters: {
      mode: 'rules',
      rules: {
        values: keys.map((key) => ({
          conditions: {
            options: filterOptions,
            conditions: [{ id: stableUuid(`${name}/${key}`), leftValue: expr(valueCode), rightValue: key, operator: { type: 'string', operation: 'equals' } }],
            combinator: 'and',
          },
          renameOutput: true,
          outputKey: key,
        })),
      },
      options: { fallbackOutput: 'extra', renameFallbackOutput: fallbackName },
    },
  };
}

export function noOp(name: string, notes?: string): NodeSpec {
  return { name, type: 'n8n-nodes-base.noOp', typeVersion: 1, parameters: {}, ...(notes ? { notes, notesInFlow: true } : {}) };
}

export function stopAndError(name: string, message: string): NodeSpec {
  return { name, type: 'n8n-nodes-base.stopAndError', typeVersion: 1, parameters: { errorType: 'errorMessage', errorMessage: message } };
}

export function splitOut(name: string, field: string, options: { includeBinary?: boolean; keep?: 'noOtherFields' | 'allOtherFields' } = {}): NodeSpec {
  return {
    name,
    type: 'n8n-nodes-base.splitOut',
    typeVersion: 1,
    parameters: { fieldToSplitOut: field, include: options.keep ?? 'noOtherFields', options: options.includeBinary ? { includeBinary: true } : {} },
  };
}

/** Aggregate: all items into one, as a list in `destination`. */
export function aggregate(name: string, destination: string): NodeSpec {
  return {
    name,
    type: 'n8n-nodes-base.aggregate',
    typeVersion: 1,
    parameters: { aggregate: 'aggregateAllItemData', destinationFieldName: destination, options: {} },
  };
}

export interface HttpOptions {
  method?: 'GET' | 'POST' | 'PUT';
  jsonBody?: string;
  query?: Array<[string, string]>;
  /** n8n's response: full response (status code, headers, body) and never an error on 4xx/5xx. */
  full?: boolean;
  text?: boolean;
  insecure?: boolean;
  timeoutMs?: number;
  credential?: { kind: 'header' } | { kind: 'github' };
}

export function http(name: string, url: string, options: HttpOptions = {}, extra: Extra = {}): NodeSpec {
  const parameters: Parameters = { method: options.method ?? 'GET', url };
  const credentials: Record<string, CredentialRef> = {};
  if (options.credential?.kind === 'header') {
    Object.assign(parameters, { authentication: 'genericCredentialType', genericAuthType: 'httpHeaderAuth' });
    credentials.httpHeaderAuth = CREDENTIALS.webhookToken;
  } else if (options.credential?.kind === 'github') {
    Object.assign(parameters, { authentication: 'predefinedCredentialType', nodeCredentialType: 'githubApi' });
    credentials.githubApi = CREDENTIALS.githubApi;
  }
  if (options.query?.length) {
    Object.assign(parameters, { sendQuery: true, queryParameters: { parameters: options.query.map(([n, value]) => ({ name: n, value })) } });
  }
  if (options.jsonBody !== undefined) {
    Object.assign(parameters, { sendBody: true, contentType: 'json', specifyBody: 'json', jsonBody: options.jsonBody });
  }
  const response: Parameters = {};
  if (options.full) Object.assign(response, { fullResponse: true, neverError: true });
  if (options.text) response.responseFormat = 'text';
  const opts: Parameters = {};
  if (Object.keys(response).length) opts.response = { response };
  if (options.insecure) opts.allowUnauthorizedCerts = true;
  opts.timeout = options.timeoutMs ?? 10_000;
  parameters.options = opts;
  return {
    name,
    type: 'n8n-nodes-base.httpRequest',
    typeVersion: 4.2,
    parameters,
    ...(Object.keys(credentials).length ? { credentials } : {}),
    ...extra,
  };
}

export function readFile(name: string, path: string, property = 'data', extra: Extra = {}): NodeSpec {
  return { name, type: 'n8n-nodes-base.readWriteFile', typeVersion: 1, parameters: { operation: 'read', fileSelector: path, options: { dataPropertyName: property } }, ...extra };
}

export function writeFile(name: string, path: string, property = 'data', extra: Extra = {}): NodeSpec {
  return { name, type: 'n8n-nodes-base.readWriteFile', typeVersion: 1, parameters: { operation: 'write', fileName: path, dataPropertyName: property, options: {} }, ...extra };
}

/** Loop Over Items (batch size 1): output 0 "done", output 1 "loop". */
export function loop(name: string): NodeSpec {
  return { name, type: 'n8n-nodes-base.splitInBatches', typeVersion: 3, parameters: { batchSize: 1, options: {} } };
}

/** Wait a time (a number or an expression). */
export function wait(name: string, amount: number | string, unit: 'seconds' | 'minutes'): NodeSpec {
  return { name, type: 'n8n-nodes-base.wait', typeVersion: 1.1, parameters: { resume: 'timeInterval', amount, unit } };
}

/** HMAC-SHA256 (hex) of the binary field `data` with the secret of the Crypto credential. */
export function hmacOfRawBody(name: string, into: string): NodeSpec {
  return {
    name,
    type: 'n8n-nodes-base.crypto',
    typeVersion: 2,
    parameters: { action: 'hmac', binaryData: true, binaryPropertyName: 'data', type: 'SHA256', dataPropertyName: into, encoding: 'hex' },
    credentials: { crypto: CREDENTIALS.githubSecret },
  };
}

export function scheduleCron(name: string, cron: string): NodeSpec {
  return { name, type: 'n8n-nodes-base.scheduleTrigger', typeVersion: 1.2, parameters: { rule: { interval: [{ field: 'cronExpression', expression: cron }] } } };
}

export function sticky(name: string, content: string, width = 520, height = 360): NodeSpec {
  return { name, type: 'n8n-nodes-base.stickyNote', typeVersion: 1, parameters: { content, width, height } };
}

// ---------------------------------------------------------------------------- Cortex nodes

type CortexAs = 'cortexN8n' | 'cortexInfrastructure' | 'cortexTalos';

/** The Handoff node (resource, operation and that operation's fields). */
export function handoff(name: string, as: CortexAs, parameters: Parameters, extra: Extra = {}): NodeSpec {
  return {
    name,
    type: 'n8n-nodes-cortex.handoff',
    typeVersion: 1,
    parameters,
    credentials: { cortexApi: CREDENTIALS[as] },
    ...extra,
  };
}

export function handoffTrigger(name: string, contractor: string, as: CortexAs): NodeSpec {
  return {
    name,
    type: 'n8n-nodes-cortex.handoffTrigger',
    typeVersion: 1,
    parameters: { contractor, events: ['handoff.created'], options: {} },
    credentials: { cortexApi: CREDENTIALS[as] },
  };
}

export interface ApprovalSpec {
  title: string;
  description: string;
  approvers: string;
  required: number;
  deadlineMinutes: number;
  approvalId: string;
}

export function approvalGate(name: string, spec: ApprovalSpec): NodeSpec {
  const hours = spec.deadlineMinutes % 60 === 0;
  return {
    name,
    type: 'n8n-nodes-cortex.approvalGate',
    typeVersion: 1,
    parameters: {
      title: spec.title,
      description: spec.description,
      contextSource: 'item',
      approvers: spec.approvers,
      requiredApprovals: spec.required,
      rejectOnFirstRejection: true,
      deadlineType: 'after',
      deadlineAmount: hours ? spec.deadlineMinutes / 60 : spec.deadlineMinutes,
      deadlineUnit: hours ? 'hours' : 'minutes',
      options: { approvalId: spec.approvalId },
    },
    credentials: { cortexApi: CREDENTIALS.cortexN8n },
  };
}

type ProxmoxCred = 'proxmox' | 'proxmoxPrimary' | 'proxmoxDr';

/** The Proxmox node; `vmId` (a VMID or an expression) becomes the resource locator in "By ID" mode. */
export function proxmox(
  name: string,
  operation: string,
  parameters: Parameters & { vmId?: string | number },
  options: { resource?: string; cred?: ProxmoxCred } & Extra = {},
): NodeSpec {
  const { resource, cred: credential, ...extra } = options;
  const { vmId, ...rest } = parameters;
  return {
    name,
    type: 'n8n-nodes-cortex.proxmox',
    typeVersion: 1,
    parameters: {
      resource: resource ?? 'vm',
      operation,
      ...(vmId !== undefined ? { vmId: { __rl: true, mode: 'id', value: String(vmId) } } : {}),
      ...rest,
    },
    credentials: { proxmoxApi: CREDENTIALS[credential ?? 'proxmox'] },
    ...extra,
  };
}

type TalosCred = 'talos' | 'talosDr' | 'talosMaintenance';

export function talos(
  name: string,
  resource: 'machine' | 'etcd' | 'kubernetes' | 'service',
  operation: string,
  parameters: Parameters,
  options: { cred?: TalosCred } & Extra = {},
): NodeSpec {
  const { cred: credential, ...extra } = options;
  return {
    name,
    type: 'n8n-nodes-cortex.talos',
    typeVersion: 1,
    parameters: { resource, operation, ...(resource === 'kubernetes' ? { kubeconfigSource: 'talos' } : {}), ...parameters },
    credentials: { talosApi: CREDENTIALS[credential ?? 'talos'] },
    ...extra,
  };
}

/** Error output on: the node's failures leave on an extra last output instead of stopping the execution. */
export const onErrorOutput: Extra = { onError: 'continueErrorOutput' };
