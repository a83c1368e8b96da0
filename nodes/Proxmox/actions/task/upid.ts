import type { IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { parseUpid, type Upid } from '../../transport/tasks.ts';
import { badParameter } from '../shared.ts';

export const upidField: INodeProperties = {
  displayName: 'Task ID (UPID)',
  name: 'upid',
  type: 'string',
  default: '',
  required: true,
  placeholder: 'UPID:pve1:0000ABCD:0001E240:6750A3B2:qmclone:9000:root@pam:',
  description: 'The UPID a long operation returned (e.g. with "Wait for Task" off)',
};

export function upidFrom(this: IExecuteFunctions, itemIndex: number): { raw: string; upid: Upid } {
  const raw = String(this.getNodeParameter('upid', itemIndex, '') ?? '').trim();
  const upid = parseUpid(raw);
  if (!upid) throw badParameter.call(this, itemIndex, `"${raw}" is not a Proxmox task ID`, 'A UPID looks like UPID:<node>:<pid>:<pstart>:<starttime>:<type>:<id>:<user>: (with the trailing colon).');
  return { raw, upid };
}
