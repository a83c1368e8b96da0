import { sleep, type IDataObject, type IExecuteFunctions, type INodeExecutionData, type INodeProperties } from 'n8n-workflow';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import type { Session } from '../session.ts';
import { forOperation, items } from '../common.ts';
import { ParameterError } from '../errors.ts';
import { KubeApiError, type KubeClient } from '../../transport/kubernetes.ts';
import { WaitTimeoutError } from '../../transport/wait.ts';

export const description: INodeProperties[] = forOperation('kubernetes', 'deployHelmChart', [
  {
    displayName: 'Method',
    name: 'helmMethod',
    type: 'options',
    options: [
      { name: 'Flux HelmRelease', value: 'flux', description: 'A HelmRepository and a HelmRelease for Flux\'s helm-controller' },
      { name: 'HelmChart CRD', value: 'helmChart', description: 'A helm.cattle.io/v1 HelmChart for a helm-controller' },
    ],
    default: 'flux',
  },
  { displayName: 'Release Name', name: 'releaseName', type: 'string', default: '', required: true },
  { displayName: 'Namespace', name: 'namespace', type: 'string', default: 'default', description: 'Namespace of the HelmRelease/HelmChart object' },
  { displayName: 'Target Namespace', name: 'targetNamespace', type: 'string', default: '', description: 'Namespace the chart installs into; empty: the object\'s namespace' },
  { displayName: 'Chart', name: 'chart', type: 'string', default: '', required: true, placeholder: 'podinfo' },
  { displayName: 'Chart Version', name: 'chartVersion', type: 'string', default: '', placeholder: '6.7.0' },
  { displayName: 'Repository URL', name: 'repoUrl', type: 'string', default: '', required: true, placeholder: 'https://stefanprodan.github.io/podinfo' },
  { displayName: 'Values', name: 'values', type: 'string', typeOptions: { rows: 6 }, default: '', description: 'Chart values as YAML or JSON' },
  { displayName: 'Wait for Ready', name: 'waitReady', type: 'boolean', default: true },
  { displayName: 'Timeout (Seconds)', name: 'helmTimeout', type: 'number', default: 600 },
  { displayName: 'Poll Interval (Seconds)', name: 'pollInterval', type: 'number', typeOptions: { numberPrecision: 2 }, default: 5 },
  { displayName: 'Dry Run', name: 'dryRun', type: 'boolean', default: false, description: 'Whether to only validate the objects with the API server (dryRun=All)' },
]);

function values(text: string): IDataObject | undefined {
  if (!text.trim()) return undefined;
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (error) {
    return { __invalid: (error as Error).message.split('\n')[0] ?? 'invalid' };
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new ParameterError('Values must be a YAML/JSON object');
  return parsed as IDataObject;
}

function condition(object: IDataObject, type: string): IDataObject | undefined {
  return (((object.status as IDataObject | undefined)?.conditions ?? []) as IDataObject[]).find((c) => c.type === type);
}

/** Flux: Ready=True for the current generation; Ready=False with a *Failed reason is a failure. */
function fluxState(release: IDataObject): { done: boolean; failed?: string; message: string } {
  const ready = condition(release, 'Ready');
  const observed = Number((release.status as IDataObject | undefined)?.observedGeneration ?? -1);
  const generation = Number((release.metadata as IDataObject).generation ?? 0);
  const message = String(ready?.message ?? 'waiting for helm-controller');
  if (observed >= generation && ready?.status === 'True') return { done: true, message };
  if (observed >= generation && ready?.status === 'False' && /Failed$/.test(String(ready.reason ?? ''))) return { done: false, failed: message, message };
  return { done: false, message };
}

async function helmChartState(kube: KubeClient, chart: IDataObject, namespace: string): Promise<{ done: boolean; failed?: string; message: string }> {
  const jobName = (chart.status as IDataObject | undefined)?.jobName;
  if (!jobName) return { done: false, message: 'waiting for the helm-controller to create the install job' };
  const job = await kube
    .get('batch/v1', 'Job', String(jobName), namespace)
    .catch(async (error: unknown) => (error instanceof KubeApiError && error.statusCode === 404 ? undefined : await Promise.reject(error)));
  if (!job) return { done: false, message: `waiting for job ${jobName}` };
  const status = (job.status ?? {}) as IDataObject;
  if (Number(status.succeeded ?? 0) >= 1) return { done: true, message: `job ${jobName} succeeded` };
  const failed = ((status.conditions ?? []) as IDataObject[]).find((c) => c.type === 'Failed' && c.status === 'True');
  if (failed) return { done: false, failed: `job ${jobName} failed: ${failed.message ?? failed.reason ?? ''}`, message: 'failed' };
  return { done: false, message: `job ${jobName} is running` };
}

export async function execute(this: IExecuteFunctions, itemIndex: number, session: Session): Promise<INodeExecutionData[]> {
  const method = this.getNodeParameter('helmMethod', itemIndex) as string;
  const name = (this.getNodeParameter('releaseName', itemIndex) as string).trim();
  const namespace = (this.getNodeParameter('namespace', itemIndex, 'default') as string).trim() || 'default';
  const targetNamespace = (this.getNodeParameter('targetNamespace', itemIndex, '') as string).trim();
  const chart = (this.getNodeParameter('chart', itemIndex) as string).trim();
  const version = (this.getNodeParameter('chartVersion', itemIndex, '') as string).trim();
  const repoUrl = (this.getNodeParameter('repoUrl', itemIndex) as string).trim();
  const chartValues = values(this.getNodeParameter('values', itemIndex, '') as string);
  if (chartValues && typeof chartValues.__invalid === 'string') throw new ParameterError(`Values are not valid YAML/JSON: ${chartValues.__invalid}`);
  const dryRun = this.getNodeParameter('dryRun', itemIndex, false) as boolean;
  const waitReady = !dryRun && (this.getNodeParameter('waitReady', itemIndex, true) as boolean);
  if (!name || !chart || !repoUrl) throw new ParameterError('Release Name, Chart and Repository URL are required');

  const kube = await session.kubernetes(itemIndex);
  const apply = async (object: IDataObject) => (await kube.apply(object, { fieldManager: 'n8n', force: true, dryRun, namespace })).object;
  const applied: IDataObject[] = [];
  let main: IDataObject;
  if (method === 'flux') {
    applied.push(await apply({ apiVersion: 'source.toolkit.fluxcd.io/v1', kind: 'HelmRepository', metadata: { name, namespace }, spec: { url: repoUrl, interval: '10m' } }));
    main = await apply({
      apiVersion: 'helm.toolkit.fluxcd.io/v2',
      kind: 'HelmRelease',
      metadata: { name, namespace },
      spec: {
        interval: '10m',
        releaseName: name,
        ...(targetNamespace ? { targetNamespace, install: { createNamespace: true } } : {}),
        chart: { spec: { chart, ...(version ? { version } : {}), sourceRef: { kind: 'HelmRepository', name } } },
        ...(chartValues ? { values: chartValues } : {}),
      },
    });
  } else {
    main = await apply({
      apiVersion: 'helm.cattle.io/v1',
      kind: 'HelmChart',
      metadata: { name, namespace },
      spec: {
        chart,
        repo: repoUrl,
        ...(version ? { version } : {}),
        ...(targetNamespace ? { targetNamespace, createNamespace: true } : {}),
        ...(chartValues ? { valuesContent: toYaml(chartValues) } : {}),
      },
    });
  }
  applied.push(main);
  const result: IDataObject = { method, name, namespace, chart, version, dryRun, applied: applied.map((o) => `${o.kind}/${(o.metadata as IDataObject).name}`) };
  if (!waitReady) return items(itemIndex, [{ ...result, ready: false, waited: false }]);

  const timeoutMs = Number(this.getNodeParameter('helmTimeout', itemIndex, 600)) * 1000;
  const pollMs = Math.max(50, Number(this.getNodeParameter('pollInterval', itemIndex, 5)) * 1000);
  const started = Date.now();
  const progress: string[] = [];
  const kind = method === 'flux' ? 'HelmRelease' : 'HelmChart';
  const apiVersion = method === 'flux' ? 'helm.toolkit.fluxcd.io/v2' : 'helm.cattle.io/v1';
  for (let poll = 0; poll < Math.ceil(timeoutMs / pollMs) + 1; poll++) {
    const object = await kube.get(apiVersion, kind, name, namespace);
    const state = method === 'flux' ? fluxState(object) : await helmChartState(kube, object, namespace);
    if (progress.at(-1) !== state.message) progress.push(state.message);
    if (state.failed) throw new KubeApiError(0, 'HelmFailed', `${kind} ${namespace}/${name} failed: ${state.failed}`, object);
    if (state.done) return items(itemIndex, [{ ...result, ready: true, waited: true, message: state.message, durationMs: Date.now() - started, progress }]);
    if (Date.now() - started >= timeoutMs) break;
    await sleep(pollMs);
  }
  throw new WaitTimeoutError(`${kind} ${namespace}/${name} was not ready within ${timeoutMs / 1000} s: ${progress.at(-1) ?? ''}`, progress);
}
