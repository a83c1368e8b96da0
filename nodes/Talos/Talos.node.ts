import {
  NodeConnectionTypes,
  type ICredentialsDecrypted,
  type ICredentialTestFunctions,
  type IExecuteFunctions,
  type INodeCredentialTestResult,
  type INodeExecutionData,
  type INodeType,
  type INodeTypeDescription,
} from 'n8n-workflow';
import { router } from './actions/router.ts';
import { properties } from './actions/versionDescription.ts';
import { TalosClient } from './transport/client.ts';
import { resolveTalosCredential, type TalosCredentialData } from './transport/talosconfig.ts';
import { parseKubeconfig, probeKubernetes } from './transport/kubernetes.ts';

export class Talos implements INodeType {
  description: INodeTypeDescription = {
    displayName: 'Talos',
    name: 'talos',
    icon: { light: 'file:talos.svg', dark: 'file:talos.dark.svg' },
    group: ['output'],
    version: 1,
    subtitle: '={{$parameter["operation"] + ": " + $parameter["resource"]}}',
    description: 'Build, maintain and deploy onto Talos Linux Kubernetes clusters (Talos machine API over gRPC/mTLS)',
    defaults: { name: 'Talos' },
    usableAsTool: true,
    inputs: [NodeConnectionTypes.Main],
    outputs: [NodeConnectionTypes.Main],
    credentials: [
      { name: 'talosApi', required: true, testedBy: 'talosApiConnectionTest', displayOptions: { hide: { kubeconfigSource: ['credential'] } } },
      { name: 'kubernetesApi', required: true, testedBy: 'kubernetesApiConnectionTest', displayOptions: { show: { resource: ['kubernetes'], kubeconfigSource: ['credential'] } } },
    ],
    properties,
  };

  methods = {
    credentialTest: {
      /** n8n's declarative credential tests are HTTP-only: this one calls Version over gRPC. */
      async talosApiConnectionTest(this: ICredentialTestFunctions, credential: ICredentialsDecrypted): Promise<INodeCredentialTestResult> {
        let client: TalosClient | undefined;
        try {
          const resolved = resolveTalosCredential((credential.data ?? {}) as TalosCredentialData);
          if (!resolved.endpoints.length) return { status: 'Error', message: 'No endpoint to test: give the node address as an endpoint' };
          client = new TalosClient(resolved);
          const [reply] = await client.unary('machine.MachineService', 'Version', {}, { timeoutMs: 10_000 });
          const mode = resolved.insecure ? ' (maintenance mode)' : '';
          return { status: 'OK', message: `Connected to ${reply?.metadata?.hostname || client.endpoint}${mode}: Talos ${reply?.version?.tag ?? ''}` };
        } catch (error) {
          return { status: 'Error', message: (error as Error).message };
        } finally {
          client?.close();
        }
      },
      /** GET /version with the kubeconfig's server, CA and client certificate (or token). */
      async kubernetesApiConnectionTest(this: ICredentialTestFunctions, credential: ICredentialsDecrypted): Promise<INodeCredentialTestResult> {
        try {
          const data = credential.data ?? {};
          const access = parseKubeconfig(String(data.kubeconfig ?? ''), String(data.context ?? ''));
          const version = await probeKubernetes(access, 10_000);
          return { status: 'OK', message: `Connected to ${access.server}: Kubernetes ${version}` };
        } catch (error) {
          return { status: 'Error', message: (error as Error).message };
        }
      },
    },
  };

  async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
    return await router.call(this);
  }
}
