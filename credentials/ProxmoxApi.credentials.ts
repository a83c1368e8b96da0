import type {
  ICredentialDataDecryptedObject,
  ICredentialTestRequest,
  ICredentialType,
  IDataObject,
  IHttpRequestHelper,
  IHttpRequestOptions,
  Icon,
  INodeProperties,
} from 'n8n-workflow';

/** The base URL without a trailing slash or /api2/json: https://host:8006. */
function origin(credentials: ICredentialDataDecryptedObject): string {
  return String(credentials.baseUrl ?? '')
    .trim()
    .replace(/\/+$/, '')
    .replace(/\/api2\/json$/, '');
}

/** TLS options: the pinned CA replaces the system trust store; "ignore" is an explicit switch. */
function tlsOptions(credentials: ICredentialDataDecryptedObject): Partial<IHttpRequestOptions> {
  const ca = typeof credentials.ca === 'string' ? credentials.ca.trim() : '';
  return {
    ...(ca ? { agentOptions: { ca } } : {}),
    ...(credentials.ignoreSslIssues === true ? { skipSslCertificateValidation: true } : {}),
  };
}

interface Session {
  ticket: string;
  csrf: string;
}

function parseSession(value: unknown): Session | undefined {
  if (typeof value !== 'string' || !value.startsWith('{')) return undefined;
  try {
    const parsed = JSON.parse(value) as Partial<Session>;
    return typeof parsed.ticket === 'string' && typeof parsed.csrf === 'string' ? { ticket: parsed.ticket, csrf: parsed.csrf } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Proxmox VE: an API token (USER@REALM!TOKENID + secret, header `PVEAPIToken`) or a
 * user's password exchanged for a ticket (cookie `PVEAuthCookie`, plus the
 * `CSRFPreventionToken` header on writes). Tickets live 2 hours; n8n renews them through
 * preAuthentication when the stored one is missing or the server answers 401.
 */
export class ProxmoxApi implements ICredentialType {
  name = 'proxmoxApi';

  displayName = 'Proxmox VE API';

  icon: Icon = { light: 'file:../nodes/Proxmox/proxmox.svg', dark: 'file:../nodes/Proxmox/proxmox.dark.svg' };

  documentationUrl = 'https://pve.proxmox.com/wiki/Proxmox_VE_API#Authentication';

  properties: INodeProperties[] = [
    {
      displayName: 'Base URL',
      name: 'baseUrl',
      type: 'string',
      default: '',
      placeholder: 'https://pve1.example.internal:8006',
      description: 'Address of any cluster node, with the API port (8006 by default)',
      required: true,
    },
    {
      displayName: 'Authentication',
      name: 'authMethod',
      type: 'options',
      options: [
        { name: 'API Token', value: 'apiToken', description: 'USER@REALM!TOKENID and its secret (recommended for automation)' },
        { name: 'Username and Password', value: 'ticket', description: 'A login ticket with CSRF token, renewed when it expires' },
      ],
      default: 'apiToken',
    },
    {
      displayName: 'Token ID',
      name: 'tokenId',
      type: 'string',
      default: '',
      placeholder: 'automation@pve!n8n',
      description: 'USER@REALM!TOKENID. With privilege separation (the default) the token only has the permissions granted to the token itself.',
      displayOptions: { show: { authMethod: ['apiToken'] } },
      required: true,
    },
    {
      displayName: 'Token Secret',
      name: 'tokenSecret',
      type: 'string',
      typeOptions: { password: true },
      default: '',
      placeholder: 'xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx',
      displayOptions: { show: { authMethod: ['apiToken'] } },
      required: true,
    },
    {
      displayName: 'Username',
      name: 'username',
      type: 'string',
      default: 'root',
      description: 'User name, without or with its realm (root or root@pam)',
      displayOptions: { show: { authMethod: ['ticket'] } },
      required: true,
    },
    {
      displayName: 'Password',
      name: 'password',
      type: 'string',
      typeOptions: { password: true },
      default: '',
      displayOptions: { show: { authMethod: ['ticket'] } },
      required: true,
    },
    {
      displayName: 'Realm',
      name: 'realm',
      type: 'string',
      default: 'pam',
      description: 'Authentication realm, e.g. pam, pve or an LDAP/AD realm (ignored when the username has one)',
      displayOptions: { show: { authMethod: ['ticket'] } },
    },
    {
      displayName: 'CA Certificate',
      name: 'ca',
      type: 'string',
      typeOptions: { rows: 4 },
      default: '',
      placeholder: '-----BEGIN CERTIFICATE-----',
      description: "PEM of the cluster's CA (/etc/pve/pve-root-ca.pem) to trust its self-signed certificates while still verifying them. Only this CA is trusted when set.",
    },
    {
      displayName: 'Ignore SSL Issues (Insecure)',
      name: 'ignoreSslIssues',
      type: 'boolean',
      default: false,
      description: 'Whether to connect even if the certificate cannot be verified. Prefer pinning the CA certificate.',
    },
    {
      displayName: 'Session',
      name: 'session',
      type: 'hidden',
      typeOptions: { expirable: true },
      default: '',
    },
  ];

  /** Logs in for a ticket (username/password only); n8n stores the result in `session`. */
  async preAuthentication(this: IHttpRequestHelper, credentials: ICredentialDataDecryptedObject): Promise<IDataObject> {
    if (credentials.authMethod !== 'ticket') return {};
    const username = String(credentials.username ?? '');
    const form = new URLSearchParams({ username, password: String(credentials.password ?? '') });
    if (!username.includes('@')) form.set('realm', String(credentials.realm || 'pam'));
    const response = (await this.helpers.httpRequest({
      method: 'POST',
      url: `${origin(credentials)}/api2/json/access/ticket`,
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
      json: true,
      ...tlsOptions(credentials),
    })) as { data?: { ticket?: string; CSRFPreventionToken?: string } };
    const ticket = response?.data?.ticket;
    const csrf = response?.data?.CSRFPreventionToken;
    if (!ticket || !csrf) throw new Error('Proxmox login returned no ticket');
    return { session: JSON.stringify({ ticket, csrf }) };
  }

  authenticate = async (credentials: ICredentialDataDecryptedObject, requestOptions: IHttpRequestOptions): Promise<IHttpRequestOptions> => {
    const headers: IDataObject = { ...(requestOptions.headers ?? {}) };
    if (credentials.authMethod === 'ticket') {
      const session = parseSession(credentials.session);
      if (session) {
        headers.Cookie = `PVEAuthCookie=${encodeURIComponent(session.ticket)}`;
        if ((requestOptions.method ?? 'GET').toUpperCase() !== 'GET') headers.CSRFPreventionToken = session.csrf;
      }
    } else {
      headers.Authorization = `PVEAPIToken=${String(credentials.tokenId ?? '').trim()}=${String(credentials.tokenSecret ?? '').trim()}`;
    }
    const tls = tlsOptions(credentials);
    return {
      ...requestOptions,
      headers,
      ...(tls.agentOptions ? { agentOptions: { ...(requestOptions.agentOptions ?? {}), ...tls.agentOptions } } : {}),
      ...(tls.skipSslCertificateValidation ? { skipSslCertificateValidation: true } : {}),
    };
  };

  test: ICredentialTestRequest = {
    request: {
      baseURL: '={{$credentials.baseUrl.trim().replace(/\\/+$/, "").replace(/\\/api2\\/json$/, "")}}',
      url: '/api2/json/version',
    },
  };
}
