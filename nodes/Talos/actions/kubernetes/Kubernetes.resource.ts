import type { INodeProperties } from 'n8n-workflow';
import type { Operation } from '../common.ts';
import * as apply from './apply.operation.ts';
import * as cordon from './cordon.operation.ts';
import * as deployHelmChart from './deployHelmChart.operation.ts';
import * as drain from './drain.operation.ts';
import * as getNodes from './getNodes.operation.ts';
import * as getPods from './getPods.operation.ts';
import * as scale from './scale.operation.ts';
import * as uncordon from './uncordon.operation.ts';
import * as waitForRollout from './waitForRollout.operation.ts';

export const operations: Record<string, Operation> = { apply, cordon, deployHelmChart, drain, getNodes, getPods, scale, uncordon, waitForRollout };

export const description: INodeProperties[] = [
  {
    displayName: 'Operation',
    name: 'operation',
    type: 'options',
    noDataExpression: true,
    displayOptions: { show: { resource: ['kubernetes'] } },
    options: [
      { name: 'Apply Manifests', value: 'apply', action: 'Apply manifests server side', description: 'Server-side apply of YAML manifests (several documents)' },
      { name: 'Cordon Node', value: 'cordon', action: 'Cordon a node' },
      { name: 'Deploy Helm Chart', value: 'deployHelmChart', action: 'Deploy a helm chart', description: 'Via a Flux HelmRelease or a HelmChart CRD, waiting for Ready' },
      { name: 'Drain Node', value: 'drain', action: 'Drain a node', description: 'Cordon and evict its pods' },
      { name: 'Get Nodes', value: 'getNodes', action: 'Get nodes' },
      { name: 'Get Pods', value: 'getPods', action: 'Get pods' },
      { name: 'Scale', value: 'scale', action: 'Scale a deployment or stateful set' },
      { name: 'Uncordon Node', value: 'uncordon', action: 'Uncordon a node' },
      { name: 'Wait for Rollout', value: 'waitForRollout', action: 'Wait for a rollout', description: 'Wait until a Deployment, StatefulSet or DaemonSet has rolled out' },
    ],
    default: 'apply',
  },
  {
    displayName: 'Kubeconfig From',
    name: 'kubeconfigSource',
    type: 'options',
    displayOptions: { show: { resource: ['kubernetes'] } },
    options: [
      { name: 'Talos Node', value: 'talos', description: 'Fetch the admin kubeconfig from a control plane node with the Talos API credential' },
      { name: 'Kubernetes Credential', value: 'credential', description: 'A pasted kubeconfig' },
    ],
    default: 'talos',
  },
  ...Object.values(operations).flatMap((operation) => operation.description),
];
