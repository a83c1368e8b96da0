import type { Icon, ICredentialType, INodeProperties } from 'n8n-workflow';

/**
 * The Talos machine API (gRPC over mutual TLS on port 50000): a pasted talosconfig, or endpoints
 * with CA, client certificate and key. Ed25519 keys as Talos issues them ("ED25519 PRIVATE KEY")
 * work. Maintenance mode talks to a node that has no configuration yet (no client certificate,
 * the node's self-signed certificate is not verified), as `talosctl --insecure` does.
 *
 * Tested by the Talos node (methods.credentialTest, a Version call): n8n's declarative credential
 * tests are HTTP requests and cannot speak gRPC.
 */
export class TalosApi implements ICredentialType {
  name = 'talosApi';

  displayName = 'Talos API';

  icon: Icon = { light: 'file:../nodes/Talos/talos.svg', dark: 'file:../nodes/Talos/talos.dark.svg' };

  documentationUrl = 'https://github.com/cortex-automation/n8n-nodes-cortex#talos';

  properties: INodeProperties[] = [
    {
      displayName: 'Connect With',
      name: 'source',
      type: 'options',
      options: [
        { name: 'Talosconfig', value: 'talosconfig', description: 'Paste a talosconfig file (talosctl gen config writes one)' },
        { name: 'Endpoints and Certificates', value: 'manual', description: 'Give the endpoints, the CA and the client certificate and key' },
      ],
      default: 'talosconfig',
    },
    // eslint-disable-next-line @n8n/community-nodes/credential-unnecessary-password -- holds a private key
    {
      displayName: 'Talosconfig',
      name: 'talosconfig',
      type: 'string',
      typeOptions: { rows: 10, password: true },
      default: '',
      placeholder: 'context: my-cluster\ncontexts:\n  my-cluster:\n    endpoints: [10.5.0.2]\n    ca: LS0t...\n    crt: LS0t...\n    key: LS0t...',
      description: 'The content of the talosconfig file (YAML)',
      displayOptions: { show: { source: ['talosconfig'] } },
    },
    {
      displayName: 'Context',
      name: 'context',
      type: 'string',
      default: '',
      placeholder: 'my-cluster',
      description: 'Context of the talosconfig to use. Empty: the talosconfig\'s current context.',
      displayOptions: { show: { source: ['talosconfig'] } },
    },
    {
      displayName: 'Endpoints',
      name: 'endpoints',
      type: 'string',
      default: '',
      placeholder: '10.5.0.2, 10.5.0.3:50000',
      description: 'Talos API addresses (host or host:port, port 50000 by default), comma-separated; the first is used',
      displayOptions: { show: { source: ['manual'] } },
    },
    {
      displayName: 'CA Certificate',
      name: 'ca',
      type: 'string',
      typeOptions: { rows: 4 },
      default: '',
      placeholder: '-----BEGIN CERTIFICATE-----',
      description: 'PEM (or base64 of the PEM) of the cluster\'s Talos CA',
      displayOptions: { show: { source: ['manual'], maintenance: [false] } },
    },
    {
      displayName: 'Client Certificate',
      name: 'crt',
      type: 'string',
      typeOptions: { rows: 4 },
      default: '',
      placeholder: '-----BEGIN CERTIFICATE-----',
      description: 'PEM (or base64 of the PEM) of the client certificate, e.g. the admin certificate',
      displayOptions: { show: { source: ['manual'], maintenance: [false] } },
    },
    // eslint-disable-next-line @n8n/community-nodes/credential-unnecessary-password -- holds a private key
    {
      displayName: 'Client Key',
      name: 'key',
      type: 'string',
      typeOptions: { rows: 4, password: true },
      default: '',
      placeholder: '-----BEGIN ED25519 PRIVATE KEY-----',
      description: 'PEM (or base64 of the PEM) of the client key; Talos\'s "ED25519 PRIVATE KEY" label is accepted',
      displayOptions: { show: { source: ['manual'], maintenance: [false] } },
    },
    {
      displayName: 'Maintenance Mode (Insecure)',
      name: 'maintenance',
      type: 'boolean',
      default: false,
      description:
        'Whether to talk to nodes that have no configuration yet: no client certificate, and the node\'s self-signed certificate is not verified. Only Apply Configuration and Version work there. The node to configure is the Node field of the operation (or the first endpoint).',
    },
  ];
}
