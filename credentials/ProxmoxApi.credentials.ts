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
import { parseSession, sessionScope, sharedLogin, userId } from '../nodes/Proxmox/transport/login.ts';

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

/**
 * Proxmox VE: an API token (USER@REALM!TOKENID + secret, header `PVEAPIToken`) or a
 * user's password exchanged for a ticket (cookie `PVEAuthCookie`, plus the
 * `CSRFPreventionToken` header on writes), answering a TOTP second factor when the user has one
 * (nodes/Proxmox/transport/login.ts). Tickets live 2 hours; the session is kept in the credential
 * across executions and n8n logs in again through preAuthentication when it is missing or the
 * server answers 401 (then sends the request once more).
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
        { name: 'Username and Password', value: 'ticket', description: 'A login ticket (valid 2 hours) with its CSRF token; optionally a TOTP second factor. Logged in again when it expires.' },
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
      displayName: 'TOTP Secret',
      name: 'totpSecret',
      type: 'string',
      typeOptions: { password: true },
      default: '',
      placeholder: 'JBSWY3DPEHPK3PXP',
      description:
        "Only for a user with a TOTP second factor (two-factor authentication): the base32 secret shown when the factor was added (the secret= part of its otpauth:// link). The node computes the 6-digit code itself (RFC 6238: SHA-1, 30 s), so the n8n host's clock must be right to within about 30 s. WebAuthn, Yubico and recovery keys cannot be answered automatically: use an API token instead.",
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

  /**
   * Logs in for a ticket (username/password, plus the TOTP step for a user with two-factor
   * authentication); n8n stores the result in `session`. Concurrent calls for the same expired
   * session share one login.
   */
  async preAuthentication(this: IHttpRequestHelper, credentials: ICredentialDataDecryptedObject): Promise<IDataObject> {
    if (credentials.authMethod !== 'ticket') return {};
    const session = await sharedLogin(
      (options) => this.helpers.httpRequest(options),
      {
        origin: origin(credentials),
        username: String(credentials.username ?? ''),
        password: String(credentials.password ?? ''),
        realm: String(credentials.realm ?? ''),
        totpSecret: String(credentials.totpSecret ?? '').trim(),
        tls: tlsOptions(credentials),
      },
      credentials.session,
    );
    return { session: JSON.stringify(session) };
  }

  authenticate = async (credentials: ICredentialDataDecryptedObject, requestOptions: IHttpRequestOptions): Promise<IHttpRequestOptions> => {
    const headers: IDataObject = { ...(requestOptions.headers ?? {}) };
    if (credentials.authMethod === 'ticket') {
      const session = parseSession(credentials.session);
      // A session taken for another server or user (the credential was edited) is not sent: the
      // 401 that follows makes n8n log in again with the current fields.
      const current = sessionScope(origin(credentials), userId(String(credentials.username ?? ''), String(credentials.realm ?? '')));
      if (session && session.scope === current) {
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

  // Declarative test: n8n runs preAuthentication before this request when a credential is tested,
  // so a username/password credential logs in for real — both steps for a TOTP user — and then
  // reads the version with the new ticket. A wrong password or TOTP secret fails the test with the
  // login's message.
  test: ICredentialTestRequest = {
    request: {
      baseURL: '={{$credentials.baseUrl.trim().replace(/\\/+$/, "").replace(/\\/api2\\/json$/, "")}}',
      url: '/api2/json/version',
    },
  };
}
