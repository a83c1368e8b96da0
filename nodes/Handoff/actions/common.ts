// Parameter helpers shared by the Handoff node's operations: required strings, JSON object
// fields, error {code, message} pairs, the automatic Idempotency-Key, and path segments.
// Bad parameters become a NodeOperationError that names the field and carries the item index.

import { NodeOperationError } from 'n8n-workflow';
import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { defaultIdempotencyKey, jsonObject } from '../../shared/parameters.ts';

/** Handoff statuses after which nothing changes. */
export const FINAL_HANDOFF_STATUSES = ['completed', 'failed'] as const;

/** A trimmed, non-empty string parameter. */
export function requiredString(context: IExecuteFunctions, name: string, itemIndex: number, label: string): string {
  const value = context.getNodeParameter(name, itemIndex, '') as unknown;
  const text = typeof value === 'number' ? String(value) : typeof value === 'string' ? value.trim() : '';
  if (!text) {
    throw new NodeOperationError(context.getNode(), `${label} is required`, {
      itemIndex,
      description: `Set the "${label}" parameter (item ${itemIndex}).`,
    });
  }
  return text;
}

/** An optional string parameter: undefined when empty. */
export function optionalString(value: unknown): string | undefined {
  if (typeof value === 'number') return String(value);
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  return text ? text : undefined;
}

/** The non-empty strings of `source` (a collection's values) under the service's names: [option, field] pairs. */
export function stringFields(source: IDataObject, names: ReadonlyArray<readonly [option: string, field: string]>): IDataObject {
  const fields: IDataObject = {};
  for (const [option, field] of names) {
    const value = optionalString(source[option]);
    if (value) fields[field] = value;
  }
  return fields;
}

/** A JSON object parameter by name (see jsonObject). */
export function jsonParameter(context: IExecuteFunctions, name: string, itemIndex: number, label: string): IDataObject {
  return jsonObject(context, context.getNodeParameter(name, itemIndex, '{}'), itemIndex, label);
}

const ERROR_CODE = /^[a-z0-9_.-]{1,100}$/i;

/** {code, message} from the `errorCode` and `errorMessage` parameters. */
export function errorInfo(context: IExecuteFunctions, itemIndex: number): { code: string; message: string } {
  const code = requiredString(context, 'errorCode', itemIndex, 'Error Code');
  if (!ERROR_CODE.test(code)) {
    throw new NodeOperationError(context.getNode(), 'Error Code may only hold letters, digits, "_", "." and "-" (at most 100)', {
      itemIndex,
      description: `Item ${itemIndex}: got "${code}".`,
    });
  }
  const message = optionalString(context.getNodeParameter('errorMessage', itemIndex, '')) ?? '';
  return { code, message };
}

/** Headers for a write: the given key, else the default one. */
export function idempotencyHeaders(context: IExecuteFunctions, itemIndex: number, key?: string): IDataObject {
  const value = optionalString(key) ?? defaultIdempotencyKey(context, itemIndex);
  if (value !== undefined && !/^[\x21-\x7e]{1,255}$/.test(value)) {
    throw new NodeOperationError(context.getNode(), 'Idempotency Key must be 1-255 visible ASCII characters (no spaces)', { itemIndex });
  }
  return value === undefined ? {} : { 'Idempotency-Key': value };
}

/** One URL path segment. */
export const segment = (id: string): string => encodeURIComponent(id);

/** The "Idempotency Key" option of the operations that create something. */
export const idempotencyKeyOption: INodeProperties = {
  displayName: 'Idempotency Key',
  name: 'idempotencyKey',
  type: 'string',
  default: '',
  description:
    'Sending the same key again returns the first answer instead of creating a second record. Empty: a key unique to this execution, node run and item, so n8n retries never create duplicates.',
};

/** Error Code and Error Message, for the operations that fail something. */
export const errorFields: INodeProperties[] = [
  {
    displayName: 'Error Code',
    name: 'errorCode',
    type: 'string',
    required: true,
    default: '',
    placeholder: 'e.g. talos_bootstrap_failed',
    description: 'Short machine-readable code (letters, digits, "_", "." and "-"); metrics count errors by it',
  },
  {
    displayName: 'Error Message',
    name: 'errorMessage',
    type: 'string',
    default: '',
    description: 'What went wrong, for people',
  },
];

/** Return All / Limit, as n8n's Get Many operations have them. */
export const returnAllProperties: INodeProperties[] = [
  {
    displayName: 'Return All',
    name: 'returnAll',
    type: 'boolean',
    default: false,
    description: 'Whether to return all results or only up to a given limit',
  },
  {
    displayName: 'Limit',
    name: 'limit',
    type: 'number',
    typeOptions: { minValue: 1 },
    default: 50,
    displayOptions: { show: { returnAll: [false] } },
    description: 'Max number of results to return',
  },
];

/** How many items a Get Many returns: 0 for all. */
export function listLimit(context: IExecuteFunctions, itemIndex: number): number {
  return (context.getNodeParameter('returnAll', itemIndex, false) as boolean) ? 0 : (context.getNodeParameter('limit', itemIndex, 50) as number);
}
