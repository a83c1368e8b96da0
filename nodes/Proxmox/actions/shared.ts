// What every operation file uses: the operation contract, shared fields (node, guest, options),
// reading them, dry-run answers and task outputs.

import { NodeOperationError } from 'n8n-workflow';
import type { IDataObject, IDisplayOptions, IExecuteFunctions, IHttpRequestMethods, INodeProperties } from 'n8n-workflow';
import type { GuestKind, GuestRef, ProxmoxClient, TaskOutcome } from '../transport/client.ts';
import { cleanParams, type ApiParams } from '../transport/encode.ts';
import { settingsFrom, type ClientSettings } from '../transport/retry.ts';
import type { VmidAllocator } from '../transport/vmid.ts';

export interface OperationContext {
  client: ProxmoxClient;
  vmids: VmidAllocator;
}

export type OperationExecute = (this: IExecuteFunctions, itemIndex: number, ctx: OperationContext) => Promise<IDataObject | IDataObject[]>;

export interface Operation {
  description: INodeProperties[];
  execute: OperationExecute;
}

export type GuestResource = 'vm' | 'container';
export const KIND: Record<GuestResource, GuestKind> = { vm: 'qemu', container: 'lxc' };
export const LABEL: Record<GuestResource, string> = { vm: 'VM', container: 'Container' };

export function show(resource: string, operation: string | string[], extra: IDisplayOptions['show'] = {}): IDisplayOptions {
  return { show: { resource: [resource], operation: Array.isArray(operation) ? operation : [operation], ...extra } };
}

/** Puts displayOptions on fields written without them. */
export function forOperation(resource: string, operation: string, fields: INodeProperties[]): INodeProperties[] {
  return fields.map((field) => ({ ...field, displayOptions: field.displayOptions ?? show(resource, operation) }));
}

export function nodeField(options: { auto: boolean; description?: string; name?: string; displayName?: string }): INodeProperties {
  return {
    displayName: options.displayName ?? 'Node',
    name: options.name ?? 'node',
    type: 'options',
    typeOptions: { loadOptionsMethod: options.auto ? 'getNodesOrAuto' : 'getNodes' },
    default: '',
    required: !options.auto,
    description:
      options.description ??
      (options.auto
        ? 'Cluster node the guest is on. Choose from the list, or specify an ID using an <a href="https://docs.n8n.io/code/expressions/">expression</a>. Auto-Detect looks it up.'
        : 'Cluster node. Choose from the list, or specify an ID using an <a href="https://docs.n8n.io/code/expressions/">expression</a>.'),
  };
}

export type GuestSearch = 'searchVms' | 'searchVmTemplates' | 'searchContainers' | 'searchContainerTemplates';

export function guestField(resource: GuestResource, search: GuestSearch, displayName?: string, name = 'vmId'): INodeProperties {
  const label = LABEL[resource];
  return {
    displayName: displayName ?? `${label}`,
    name,
    type: 'resourceLocator',
    default: { mode: 'list', value: '' },
    required: true,
    description: `The ${label.toLowerCase()} to act on`,
    modes: [
      { displayName: 'From List', name: 'list', type: 'list', typeOptions: { searchListMethod: search, searchable: true } },
      {
        displayName: 'By ID',
        name: 'id',
        type: 'string',
        placeholder: '100',
        validation: [{ type: 'regex', properties: { regex: '^\\s*\\d{3,9}\\s*$', errorMessage: 'A VMID is a number from 100 to 999999999' } }],
      },
    ],
  };
}

export interface OptionsSpec {
  /** Changes something: dry run, retries. */
  changing?: boolean;
  /** Starts a UPID task: wait options. */
  task?: boolean;
  /** Acts on an existing guest that may be locked: lock wait options. */
  lockable?: boolean;
  extra?: INodeProperties[];
}

export function optionsField(spec: OptionsSpec): INodeProperties {
  const options: INodeProperties[] = [...(spec.extra ?? [])];
  if (spec.changing) {
    options.push({
      displayName: 'Dry Run',
      name: 'dryRun',
      type: 'boolean',
      default: false,
      description: 'Whether to only validate the parameters and return the request that would be sent, without changing anything',
    });
  }
  if (spec.lockable) {
    options.push(
      {
        displayName: 'Wait for Lock',
        name: 'waitForLock',
        type: 'boolean',
        default: true,
        description: 'Whether to wait while the guest is locked by a clone, migration, backup or snapshot (and retry lock timeouts) instead of failing',
      },
      {
        displayName: 'Lock Wait Timeout (Seconds)',
        name: 'lockWaitTimeout',
        type: 'number',
        typeOptions: { minValue: 0 },
        default: 600,
        description: 'How long to keep waiting for locks and retrying lock timeouts',
      },
    );
  }
  if (spec.task) {
    options.push(
      {
        displayName: 'Wait for Task',
        name: 'waitForTask',
        type: 'boolean',
        default: true,
        description: 'Whether to wait until the Proxmox task has finished (its result: OK, OK with warnings, or an error). Off: return its UPID at once.',
      },
      {
        displayName: 'Task Timeout (Seconds)',
        name: 'taskTimeout',
        type: 'number',
        typeOptions: { minValue: 1 },
        default: 600,
        description: 'How long to wait for the task at most; it keeps running on the server after that',
      },
    );
  }
  if (spec.task || spec.lockable) {
    options.push({
      displayName: 'Poll Interval (Ms)',
      name: 'pollInterval',
      type: 'number',
      typeOptions: { minValue: 20 },
      default: 1000,
      description: 'How often to check the task status at first; long tasks are checked less often (up to 5× this)',
    });
  }
  if (spec.changing) {
    options.push(
      {
        displayName: 'Max Retries',
        name: 'maxRetries',
        type: 'number',
        typeOptions: { minValue: 0, maxValue: 20 },
        default: 5,
        description: 'Retries of transient failures (5xx, "got no worker upid", network errors), with exponential backoff',
      },
      {
        displayName: 'Retry Delay (Ms)',
        name: 'retryDelay',
        type: 'number',
        typeOptions: { minValue: 10 },
        default: 1000,
        description: 'First backoff delay; doubled on each retry, with jitter',
      },
    );
  }
  options.push({
    displayName: 'Parallel Items',
    name: 'concurrency',
    type: 'number',
    typeOptions: { minValue: 1, maxValue: 50 },
    default: 1,
    description: 'How many input items to process at the same time (read from the first item)',
  });
  return { displayName: 'Options', name: 'options', type: 'collection', placeholder: 'Add Option', default: {}, options };
}

export function settings(this: IExecuteFunctions, itemIndex: number): ClientSettings {
  return settingsFrom(this.getNodeParameter('options', itemIndex, {}) as IDataObject);
}

export function vmidFrom(this: IExecuteFunctions, itemIndex: number, name = 'vmId'): number {
  const raw = this.getNodeParameter(name, itemIndex, undefined, { extractValue: true }) as unknown;
  const vmid = Number(String(raw ?? '').trim());
  if (!Number.isInteger(vmid) || vmid < 100 || vmid > 999_999_999) {
    throw new NodeOperationError(this.getNode(), `"${String(raw)}" is not a VMID (a number from 100 to 999999999)`, { itemIndex });
  }
  return vmid;
}

/** The guest an operation works on; an empty node is looked up in the cluster resources. */
export async function guestRef(this: IExecuteFunctions, itemIndex: number, resource: GuestResource, client: ProxmoxClient, s: ClientSettings): Promise<GuestRef> {
  const vmid = vmidFrom.call(this, itemIndex);
  const kind = KIND[resource];
  let node = String(this.getNodeParameter('node', itemIndex, '') ?? '').trim();
  if (!node) {
    const found = await client.nodeOf(kind, vmid, s);
    if (!found) {
      throw new NodeOperationError(this.getNode(), `${LABEL[resource]} ${vmid} was not found in the cluster`, {
        itemIndex,
        description: 'Auto-Detect looks the guest up in /cluster/resources; the credential needs VM.Audit on it.',
      });
    }
    node = found;
  }
  return { kind, node, vmid };
}

export function guestPath(ref: GuestRef, suffix = ''): string {
  return `/nodes/${encodeURIComponent(ref.node)}/${ref.kind}/${ref.vmid}${suffix}`;
}

export interface PlannedRequest {
  method: IHttpRequestMethods;
  path: string;
  params?: ApiParams;
}

/** A dry run's answer: the request(s) that would be sent, nothing sent. */
/** Parameters that carry a password (cloud-init's, a container's root password): masked in planned requests, as Proxmox masks them in a config. */
const SECRET_PARAMS = ['cipassword', 'password'];

function shownParams(params: ApiParams = {}): Record<string, string> {
  const out = cleanParams(params);
  for (const key of SECRET_PARAMS) if (out[key] !== undefined) out[key] = '**********';
  return out;
}

export function dryRun(requests: PlannedRequest[], extra: IDataObject = {}): IDataObject {
  const [first, ...rest] = requests.map((r) => ({
    method: r.method,
    path: `/api2/json${r.path}`,
    body: r.method === 'GET' || r.method === 'DELETE' ? {} : shownParams(r.params),
    ...(r.method === 'GET' || r.method === 'DELETE' ? { query: shownParams(r.params) } : {}),
  }));
  return { dryRun: true, ...extra, ...first, ...(rest.length ? { followUp: rest } : {}) };
}

/** The output of an operation that ran a task. */
export function taskOutput(outcome: TaskOutcome, extra: IDataObject = {}): IDataObject {
  const r = outcome.result;
  const out: IDataObject = { ...extra, upid: outcome.upid ?? r?.upid ?? null };
  if (r) {
    out.status = r.status;
    out.exitstatus = r.exitstatus;
    if (r.warnings) out.warnings = r.warnings;
  } else if (outcome.alreadyDone) {
    out.status = 'OK';
    out.alreadyDone = true;
    out.note = `Already done: ${outcome.doneBy ?? ''}`.trim();
  } else {
    out.status = outcome.upid ? 'started' : 'OK';
  }
  if (outcome.attempts > 1) out.attempts = outcome.attempts;
  if (outcome.lockWaits > 0) out.lockWaits = outcome.lockWaits;
  return out;
}

/** A bad parameter, found before anything is sent. */
export function badParameter(this: IExecuteFunctions, itemIndex: number, message: string, description?: string): NodeOperationError {
  return new NodeOperationError(this.getNode(), message, { itemIndex, ...(description ? { description } : {}) });
}
