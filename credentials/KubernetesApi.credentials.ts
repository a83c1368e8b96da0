import type { Icon, ICredentialType, INodeProperties } from 'n8n-workflow';

/**
 * A Kubernetes cluster for the Talos node's Kubernetes operations: a pasted kubeconfig (client
 * certificate or token users). Talos clusters can skip this credential: the node can fetch the
 * kubeconfig from a control-plane node with the Talos API credential instead.
 */
export class KubernetesApi implements ICredentialType {
  name = 'kubernetesApi';

  displayName = 'Kubernetes API';

  icon: Icon = { light: 'file:../nodes/Talos/talos.svg', dark: 'file:../nodes/Talos/talos.dark.svg' };

  documentationUrl = 'https://github.com/cortex-automation/n8n-nodes-cortex#talos';

  properties: INodeProperties[] = [
    // eslint-disable-next-line @n8n/community-nodes/credential-unnecessary-password -- holds a private key
    {
      displayName: 'Kubeconfig',
      name: 'kubeconfig',
      type: 'string',
      typeOptions: { rows: 10, password: true },
      default: '',
      required: true,
      description: 'The content of a kubeconfig file (YAML), e.g. from talosctl kubeconfig',
    },
    {
      displayName: 'Context',
      name: 'context',
      type: 'string',
      default: '',
      description: 'Context to use. Empty: the kubeconfig\'s current-context.',
    },
  ];
}
