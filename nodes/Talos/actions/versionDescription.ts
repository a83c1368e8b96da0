import type { INodeProperties } from 'n8n-workflow';
import * as etcd from './etcd/Etcd.resource.ts';
import * as kubernetes from './kubernetes/Kubernetes.resource.ts';
import * as machine from './machine/Machine.resource.ts';
import * as service from './service/Service.resource.ts';

/** The Talos node's parameters: resource, each resource's operations and fields, target node, call timeout. */
export const properties: INodeProperties[] = [
    {
      displayName: 'Resource',
      name: 'resource',
      type: 'options',
      noDataExpression: true,
      options: [
        { name: 'Etcd', value: 'etcd' },
        { name: 'Kubernetes', value: 'kubernetes' },
        { name: 'Machine', value: 'machine' },
        { name: 'Service', value: 'service' },
      ],
      default: 'machine',
    },
    ...machine.description,
    ...etcd.description,
    ...service.description,
    ...kubernetes.description,
    {
      displayName: 'Node',
      name: 'node',
      type: 'string',
      default: '',
      placeholder: '10.5.0.2',
      description:
        'Talos node to act on (IP or hostname, sent as the "node" metadata through the endpoint). Empty: the endpoint itself. In maintenance mode: the address of the unconfigured node to dial. For Kubernetes: the control plane to fetch the kubeconfig from.',
      displayOptions: { hide: { kubeconfigSource: ['credential'] } },
    },
    {
      displayName: 'Call Timeout (Seconds)',
      name: 'timeout',
      type: 'number',
      typeOptions: { minValue: 1 },
      default: 30,
      description: 'Deadline of each Talos API call (waits have their own timeouts)',
      displayOptions: { hide: { kubeconfigSource: ['credential'] } },
    },
  ];
