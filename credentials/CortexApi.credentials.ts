import type { IAuthenticateGeneric, Icon, ICredentialTestRequest, ICredentialType, INodeProperties } from 'n8n-workflow';

/** The Cortex companion service: its URL and a contractor's (or the admin's) bearer token. */
export class CortexApi implements ICredentialType {
  name = 'cortexApi';

  displayName = 'Cortex API';

  icon: Icon = { light: 'file:../nodes/Handoff/cortex.svg', dark: 'file:../nodes/Handoff/cortex.dark.svg' };

  documentationUrl = 'https://github.com/cortex-automation/n8n-nodes-cortex#credentials';

  properties: INodeProperties[] = [
    {
      displayName: 'Service URL',
      name: 'url',
      type: 'string',
      default: 'http://127.0.0.1:7300',
      placeholder: 'https://cortex.example.internal:7300',
      description: 'Base URL of the Cortex service, without a trailing path',
      required: true,
    },
    {
      displayName: 'Token',
      name: 'token',
      type: 'string',
      typeOptions: { password: true },
      default: '',
      description: 'Bearer token of the contractor this n8n acts as (or the admin token)',
      required: true,
    },
    {
      displayName: 'CA Certificate',
      name: 'ca',
      type: 'string',
      typeOptions: { rows: 4 },
      default: '',
      placeholder: '-----BEGIN CERTIFICATE-----',
      description: 'PEM of the CA that signed the service certificate, to trust a self-signed service without turning verification off',
    },
    {
      displayName: 'Ignore SSL Issues (Insecure)',
      name: 'ignoreSslIssues',
      type: 'boolean',
      default: false,
      description: 'Whether to connect even if the certificate cannot be verified. Prefer the CA Certificate field.',
    },
  ];

  authenticate: IAuthenticateGeneric = {
    type: 'generic',
    properties: { headers: { Authorization: '=Bearer {{$credentials.token}}' } },
  };

  test: ICredentialTestRequest = {
    request: {
      baseURL: '={{$credentials.url.replace(/\\/+$/, "")}}',
      url: '/v1/subscriptions',
      skipSslCertificateValidation: '={{$credentials.ignoreSslIssues}}',
    },
  };
}
