// Parameter verification as Proxmox's JSONSchema does it (pve-common PVE/JSONSchema.pm):
// every parameter (path ones included) is checked against the endpoint's schema; unknown
// parameters are refused; all problems are reported at once as
// 400 "Parameter verification failed." with errors {param: message}.

export class ApiError extends Error {
  status: number;
  errors: Record<string, string> | undefined;

  constructor(status: number, message: string, errors?: Record<string, string>) {
    super(message);
    this.status = status;
    this.errors = errors;
  }
}

export function paramError(errors: Record<string, string>): ApiError {
  return new ApiError(400, 'Parameter verification failed.', errors);
}

/** What the API dies with in a handler: HTTP 500 with the message as reason. */
export function fail(message: string): ApiError {
  return new ApiError(500, message);
}

export type ParamType = 'integer' | 'number' | 'boolean' | 'string';
export type Format =
  | 'pve-node'
  | 'pve-storage-id'
  | 'pve-configid'
  | 'pve-configid-list'
  | 'pve-poolid'
  | 'dns-name'
  | 'urlencoded'
  | 'pve-qm-ipconfig'
  | 'disk-size'
  | 'pve-volume-id';

export interface ParamSpec {
  type: ParamType;
  optional?: boolean;
  min?: number;
  max?: number;
  enum?: string[];
  format?: Format;
  maxLength?: number;
}

export interface Schema {
  /** Named parameters. */
  props: Record<string, ParamSpec>;
  /** Indexed families such as net[n]: [regex over the full name, spec]. */
  patterns?: Array<[RegExp, ParamSpec]>;
}

export type Value = string | number;
export type Params = Record<string, Value>;

export const vmid: ParamSpec = { type: 'integer', min: 100, max: 999_999_999 };
export const node: ParamSpec = { type: 'string', format: 'pve-node' };
export const optional = (spec: ParamSpec): ParamSpec => ({ ...spec, optional: true });
export const str: ParamSpec = { type: 'string', optional: true };
export const bool: ParamSpec = { type: 'boolean', optional: true };
export const int = (min?: number, max?: number): ParamSpec => ({ type: 'integer', optional: true, min, max });

const FORMATS: Record<Format, (value: string) => string | undefined> = {
  'pve-node': (v) => (/^[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?$/.test(v) ? undefined : `value '${v}' does not look like a valid node name`),
  'pve-storage-id': (v) => (/^[a-z][a-z0-9\-_.]*[a-z0-9]$/i.test(v) ? undefined : `storage ID '${v}' contains illegal characters`),
  'pve-configid': (v) => (/^[a-z][a-z0-9_-]+$/i.test(v) ? undefined : `invalid configuration ID '${v}'`),
  'pve-configid-list': (v) => {
    const bad = v.split(/[,;\s]+/).filter((id) => id && !/^[a-z][a-z0-9_-]+$/i.test(id));
    return bad.length ? `invalid configuration ID '${bad[0]}'` : undefined;
  },
  'pve-poolid': (v) => (/^[A-Za-z0-9_-]+$/.test(v) ? undefined : `pool name '${v}' contains illegal characters`),
  'dns-name': (v) =>
    /^(?=.{1,253}$)[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)*$/.test(v)
      ? undefined
      : `value '${v}' does not look like a valid DNS name`,
  // pve-common: `$text =~ /^[-%a-zA-Z0-9_.!~*'()]*$/` — spaces, '+', '/', '=', '@', newlines must be percent-encoded.
  urlencoded: (v) => (/^[-%a-zA-Z0-9_.!~*'()]*$/.test(v) ? undefined : `invalid urlencoded string: ${v}`),
  'pve-qm-ipconfig': (v) => checkIpConfig(v),
  'disk-size': (v) => (/^\+?\d+(\.\d+)?[KMGT]?$/.test(v) ? undefined : `unable to parse size '${v}'`),
  'pve-volume-id': (v) => (/^[a-z][a-z0-9\-_.]*[a-z0-9]:.+$/i.test(v) ? undefined : `unable to parse volume ID '${v}'`),
};

const IPV4_CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;
const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function octetsOk(match: RegExpExecArray | null, count = 4): boolean {
  return !!match && match.slice(1, count + 1).every((o) => Number(o) <= 255);
}

function checkIpConfig(value: string): string | undefined {
  for (const part of value.split(',')) {
    const [key, val = ''] = part.split('=', 2) as [string, string?];
    if (key === 'ip') {
      const m = IPV4_CIDR.exec(val);
      if (val !== 'dhcp' && !(octetsOk(m) && Number(m![5]) <= 32)) return `invalid format - ip: value '${val}' does not look like a valid IPv4 network configuration`;
    } else if (key === 'gw') {
      if (!octetsOk(IPV4.exec(val))) return `invalid format - gw: value '${val}' does not look like a valid IPv4 address`;
    } else if (key === 'ip6') {
      if (!['dhcp', 'auto'].includes(val) && !/^[0-9a-f:]+\/\d{1,3}$/i.test(val)) return `invalid format - ip6: value '${val}' does not look like a valid IPv6 network configuration`;
    } else if (key === 'gw6') {
      if (!/^[0-9a-f:]+$/i.test(val)) return `invalid format - gw6: value '${val}' does not look like a valid IPv6 address`;
    } else {
      return `invalid format - property '${key}' not allowed`;
    }
  }
  return undefined;
}

const TRUE = new Set(['1', 'true', 'yes', 'on']);
const FALSE = new Set(['0', 'false', 'no', 'off']);

function coerce(name: string, spec: ParamSpec, raw: unknown): { value?: Value; error?: string } {
  const text = typeof raw === 'string' ? raw : typeof raw === 'number' || typeof raw === 'boolean' ? String(raw) : JSON.stringify(raw);
  if (spec.type === 'boolean') {
    const lower = text.toLowerCase();
    if (TRUE.has(lower)) return { value: 1 };
    if (FALSE.has(lower)) return { value: 0 };
    return { error: `type check ('boolean') failed - got '${text}'` };
  }
  if (spec.type === 'integer' || spec.type === 'number') {
    const ok = spec.type === 'integer' ? /^-?\d+$/.test(text) : /^-?\d+(\.\d+)?$/.test(text);
    if (!ok) return { error: `type check ('${spec.type}') failed - got '${text}'` };
    const number = Number(text);
    if (spec.min !== undefined && number < spec.min) return { error: `value must have a minimum value of ${spec.min}` };
    if (spec.max !== undefined && number > spec.max) return { error: `value must have a maximum value of ${spec.max}` };
    return { value: number };
  }
  if (typeof raw === 'object' && raw !== null) return { error: `type check ('string') failed - got ${Array.isArray(raw) ? 'ARRAY' : 'HASH'}` };
  if (spec.maxLength !== undefined && text.length > spec.maxLength) return { error: `value may only be ${spec.maxLength} characters long` };
  if (spec.enum && !spec.enum.includes(text)) return { error: `value '${text}' does not have a value in the enumeration '${spec.enum.join(', ')}'` };
  if (spec.format) {
    const problem = FORMATS[spec.format](text);
    if (problem) return { error: problem };
  }
  void name;
  return { value: text };
}

/** Verifies and coerces `raw` (path + query/body parameters). Throws a 400 listing every problem. */
export function verify(schema: Schema, raw: Record<string, unknown>): Params {
  const errors: Record<string, string> = {};
  const out: Params = {};
  for (const [name, value] of Object.entries(raw)) {
    const spec = schema.props[name] ?? schema.patterns?.find(([re]) => re.test(name))?.[1];
    if (!spec) {
      errors[name] = 'property is not defined in schema and the schema does not allow additional properties';
      continue;
    }
    if (value === undefined || value === null || value === '') {
      if (!spec.optional) errors[name] = 'property is missing and it is not optional';
      continue;
    }
    const { value: coerced, error } = coerce(name, spec, value);
    if (error) errors[name] = error;
    else out[name] = coerced!;
  }
  for (const [name, spec] of Object.entries(schema.props)) {
    if (!spec.optional && out[name] === undefined && errors[name] === undefined) errors[name] = 'property is missing and it is not optional';
  }
  if (Object.keys(errors).length) throw paramError(errors);
  return out;
}
