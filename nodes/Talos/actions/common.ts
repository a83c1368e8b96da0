// Shared pieces of the Talos node's operations: the operation module shape, displayOptions, and
// small helpers for replies.

import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';
import type { Session } from './session.ts';

export interface Operation {
  description: INodeProperties[];
  execute(this: IExecuteFunctions, itemIndex: number, session: Session): Promise<INodeExecutionData[]>;
}

export function show(resource: string, operation: string | string[]): INodeProperties['displayOptions'] {
  return { show: { resource: [resource], operation: Array.isArray(operation) ? operation : [operation] } };
}

/** Attaches each property to one operation, keeping the property's own conditions (e.g. shown for one source only). */
export function forOperation(resource: string, operation: string, properties: INodeProperties[]): INodeProperties[] {
  return properties.map((property) => ({
    ...property,
    displayOptions: {
      ...property.displayOptions,
      show: { ...property.displayOptions?.show, ...show(resource, operation)!.show },
    },
  }));
}

export function items(itemIndex: number, values: IDataObject[]): INodeExecutionData[] {
  return values.map((json) => ({ json, pairedItem: { item: itemIndex } }));
}

export function withoutMetadata(message: Record<string, any>): IDataObject {
  const { metadata: _metadata, ...rest } = message;
  return rest as IDataObject;
}

export const waitProperties = (
  resource: string,
  operation: string,
  defaultTimeout = 600,
  waitDescription = 'Whether to wait until the node is back: events of the action, then a changed boot ID (as talosctl does)',
): INodeProperties[] =>
  forOperation(resource, operation, [
    {
      displayName: 'Wait for the Node',
      name: 'wait',
      type: 'boolean',
      default: true,
      description: waitDescription,
    },
    {
      displayName: 'Wait Timeout (Seconds)',
      name: 'waitTimeout',
      type: 'number',
      typeOptions: { minValue: 5 },
      default: defaultTimeout,
      description: 'How long to wait for the node in total',
    },
    {
      displayName: 'Retry Interval (Seconds)',
      name: 'retryInterval',
      type: 'number',
      typeOptions: { minValue: 0.05, numberPrecision: 2 },
      default: 2,
      description: 'Pause between reconnection attempts while the node is down',
    },
  ]);
