// Credentials for the engine harness: an in-memory stand-in for n8n's CLI CredentialsHelper
// (which needs a database) and its credential tester. The logic follows n8n's
// packages/cli/src/credentials-helper.ts and services/credentials-tester.service.ts:
// generic `authenticate` blocks resolved as expressions against `$credentials`, function
// `authenticate`, `preAuthentication` for expirable tokens, credential defaults, and `test`
// requests run through n8n-core's real RoutingNode and request helpers.

import { createRequire } from 'node:module';
import type {
  CredentialInformation,
  ICredentialDataDecryptedObject,
  ICredentials,
  ICredentialsExpressionResolveValues,
  ICredentialType,
  IExecuteData,
  IHttpRequestHelper,
  IHttpRequestOptions,
  INode,
  INodeCredentialsDetails,
  INodeCredentialTestResult,
  INodeParameters,
  INodeProperties,
  INodeType,
  INodeTypes,
  IRequestOptionsSimplified,
  IWorkflowExecuteAdditionalData,
  Workflow as WorkflowType,
  WorkflowExecuteMode,
} from 'n8n-workflow';

// CommonJS builds, the same instances n8n-core uses (see esm-hook.ts for why not `import`).
const require = createRequire(import.meta.url);
const wf: typeof import('n8n-workflow') = require('n8n-workflow');
const core: typeof import('n8n-core') = require('n8n-core');

/** A stored credential, as n8n would hold it decrypted. `id`/`name` match node.credentials entries. */
export interface StoredCredential {
  id: string;
  name: string;
  data: ICredentialDataDecryptedObject;
}

/** Stored credentials by credential type name; several of one type are told apart by id. */
export type CredentialStore = Map<string, StoredCredential[]>;

export class HarnessCredentialsHelper extends wf.ICredentialsHelper {
  readonly types: Map<string, ICredentialType>;
  readonly store: CredentialStore;

  constructor(types: Map<string, ICredentialType>, store: CredentialStore) {
    super();
    this.types = types;
    this.store = store;
  }

  credentialType(name: string): ICredentialType {
    const type = this.types.get(name);
    if (!type) throw new Error(`Unknown credential type "${name}": pass it in createEngine({ credentialTypes })`);
    return type;
  }

  /** The stored credential a node refers to: by id when it has one that matches, else the first of its type. */
  lookup(nodeCredentials: INodeCredentialsDetails, type: string): StoredCredential {
    const candidates = this.store.get(type) ?? [];
    const stored = candidates.find((c) => c.id === nodeCredentials.id) ?? candidates[0];
    // Same message as n8n's CredentialNotFoundError.
    if (!stored) throw new Error(`Credential with ID "${nodeCredentials.id}" does not exist for type "${type}".`);
    return stored;
  }

  getParentTypes(name: string): string[] {
    const parents: string[] = [];
    for (const parent of this.types.get(name)?.extends ?? []) parents.push(parent, ...this.getParentTypes(parent));
    return parents;
  }

  isCredentialUsableByNode(credentialType: string, nodeType: string): boolean {
    const type = this.types.get(credentialType);
    if (!type?.restrictToSupportedNodes) return true;
    return (type.supportedNodes ?? []).some((short) => nodeType === short || nodeType.endsWith(`.${short}`));
  }

  async authenticate(
    credentials: ICredentialDataDecryptedObject,
    typeName: string,
    requestOptions: IHttpRequestOptions | IRequestOptionsSimplified,
    workflow?: WorkflowType,
    node?: INode,
  ): Promise<IHttpRequestOptions> {
    const { authenticate } = this.credentialType(typeName);
    if (typeof authenticate === 'function') return await authenticate(credentials, requestOptions as IHttpRequestOptions);
    if (authenticate?.type === 'generic') {
      if (!workflow || !node) throw new Error('Workflow and node are required for declarative credential authentication');
      const target = requestOptions as unknown as Record<string, Record<string, unknown> | undefined>;
      for (const [outerKey, outerValue] of Object.entries(authenticate.properties)) {
        for (const [key, value] of Object.entries(outerValue as Record<string, string>)) {
          const resolvedKey = this.resolveValue(key, credentials, workflow, node);
          target[outerKey] ??= {};
          target[outerKey][resolvedKey] = this.resolveValue(value, credentials, workflow, node);
        }
      }
    }
    return requestOptions as IHttpRequestOptions;
  }

  private resolveValue(value: string, credentials: ICredentialDataDecryptedObject, workflow: WorkflowType, node: INode): string {
    if (!wf.isExpression(value)) return value;
    const resolved = workflow.expression.getSimpleParameterValue(node, value, 'internal', { $credentials: credentials }, undefined, '');
    return resolved ? String(resolved) : '';
  }

  async preAuthentication(
    helpers: IHttpRequestHelper,
    credentials: ICredentialDataDecryptedObject,
    typeName: string,
    node: INode,
    credentialsExpired: boolean,
  ): Promise<ICredentialDataDecryptedObject | undefined> {
    const type = this.credentialType(typeName);
    const expirable = type.properties.find((p) => p.type === 'hidden' && p.typeOptions?.expirable === true);
    if (expirable === undefined || typeof type.preAuthentication !== 'function') return undefined;
    // n8n's credential test runs a temporary noOp node with a `temp` parameter.
    const isTestingCredentials = node.parameters?.temp === '' && node.type === 'n8n-nodes-base.noOp';
    if (credentials[expirable.name] !== '' && !credentialsExpired && !isTestingCredentials) return undefined;
    const output = await type.preAuthentication.call(helpers, credentials);
    if (output[expirable.name] === undefined) return undefined;
    const nodeCredentials = node.credentials?.[typeName];
    if (nodeCredentials) {
      // n8n persists the fresh token in its database; the harness keeps it in memory.
      const stored = this.lookup(nodeCredentials, typeName);
      stored.data = { ...stored.data, ...(output as ICredentialDataDecryptedObject) };
      return Object.assign(credentials, output);
    }
    return undefined;
  }

  async runPreAuthentication(
    helpers: IHttpRequestHelper,
    credentials: ICredentialDataDecryptedObject,
    typeName: string,
  ): Promise<ICredentialDataDecryptedObject | undefined> {
    const type = this.credentialType(typeName);
    if (typeof type.preAuthentication !== 'function') return undefined;
    return ((await type.preAuthentication.call(helpers, credentials)) as ICredentialDataDecryptedObject) ?? undefined;
  }

  async getCredentials(nodeCredentials: INodeCredentialsDetails, type: string): Promise<ICredentials> {
    const stored = this.lookup(nodeCredentials, type);
    const credentials = new core.Credentials({ id: stored.id, name: stored.name }, type);
    await credentials.setData(stored.data);
    return credentials;
  }

  async getDecrypted(
    additionalData: IWorkflowExecuteAdditionalData,
    nodeCredentials: INodeCredentialsDetails,
    type: string,
    mode: WorkflowExecuteMode,
    executeData?: IExecuteData,
    raw?: boolean,
    expressionResolveValues?: ICredentialsExpressionResolveValues,
  ): Promise<ICredentialDataDecryptedObject> {
    const data = structuredClone(this.lookup(nodeCredentials, type).data);
    if (raw === true) return data;
    return this.applyDefaults(additionalData, data, type, mode, executeData, expressionResolveValues);
  }

  /** Credential property defaults, then expressions in the data (as n8n's applyDefaultsAndOverwrites). */
  applyDefaults(
    additionalData: IWorkflowExecuteAdditionalData,
    original: ICredentialDataDecryptedObject,
    type: string,
    mode: WorkflowExecuteMode,
    executeData?: IExecuteData,
    resolveValues?: ICredentialsExpressionResolveValues,
  ): ICredentialDataDecryptedObject {
    const properties = this.getCredentialsProperties(type);
    let data = wf.NodeHelpers.getNodeParameters(properties, original as INodeParameters, true, false, null, null) as ICredentialDataDecryptedObject;
    if (original.oauthTokenData !== undefined) data.oauthTokenData = original.oauthTokenData as CredentialInformation;
    if (!resolveValues) return data;
    const additionalKeys = core.getAdditionalKeys(additionalData, mode, null, { isCredential: true });
    data = resolveValues.workflow.expression.getParameterValue(
      data as INodeParameters,
      resolveValues.runExecutionData,
      resolveValues.runIndex,
      resolveValues.itemIndex,
      resolveValues.node.name,
      resolveValues.connectionInputData,
      mode,
      additionalKeys,
      executeData,
      false,
      data,
    ) as ICredentialDataDecryptedObject;
    return data;
  }

  async updateCredentials(nodeCredentials: INodeCredentialsDetails, type: string, data: ICredentialDataDecryptedObject): Promise<void> {
    this.lookup(nodeCredentials, type).data = { ...data };
  }

  async updateCredentialsOauthTokenData(nodeCredentials: INodeCredentialsDetails, type: string, data: ICredentialDataDecryptedObject): Promise<void> {
    const stored = this.lookup(nodeCredentials, type);
    stored.data = { ...stored.data, oauthTokenData: data.oauthTokenData as CredentialInformation };
  }

  getCredentialsProperties(type: string): INodeProperties[] {
    const credentialType = this.credentialType(type);
    if (credentialType.extends === undefined) return credentialType.properties;
    const combined: INodeProperties[] = [];
    for (const parent of credentialType.extends) {
      if (this.types.has(parent)) wf.NodeHelpers.mergeNodeProperties(combined, this.getCredentialsProperties(parent));
    }
    wf.NodeHelpers.mergeNodeProperties(combined, credentialType.properties);
    return combined;
  }
}

/**
 * Runs a credential type's `test` request the way n8n's "Test credential" button does
 * (CredentialsTester.testCredentials): a temporary node whose only property routes the test
 * request, executed by n8n-core's RoutingNode with the credential's `authenticate` applied,
 * then the `rules` checked.
 */
export async function testCredential(
  helper: HarnessCredentialsHelper,
  additionalData: IWorkflowExecuteAdditionalData,
  typeName: string,
  stored: StoredCredential,
): Promise<INodeCredentialTestResult> {
  const test = helper.credentialType(typeName).test;
  if (!test) return { status: 'Error', message: 'No testing function found for this credential.' };

  let data: ICredentialDataDecryptedObject;
  try {
    data = helper.applyDefaults(additionalData, structuredClone(stored.data), typeName, 'internal');
  } catch (error) {
    return { status: 'Error', message: String((error as Error).message) };
  }

  const nodeType: INodeType = {
    description: {
      displayName: 'No Operation',
      name: 'n8n-nodes-base.noOp',
      group: ['transform'],
      version: 1,
      description: '',
      defaults: { name: 'Temp-Node' },
      inputs: ['main'],
      outputs: ['main'],
      credentials: [{ name: typeName, required: true }],
      properties: [{ displayName: 'Temp', name: 'temp', type: 'string', default: '', routing: { request: test.request } }],
    },
  };
  const node: INode = {
    id: 'temp',
    name: 'Temp-Node',
    type: nodeType.description.name,
    typeVersion: 1,
    position: [0, 0],
    parameters: {},
    credentials: { [typeName]: { id: stored.id, name: stored.name } },
  };
  const nodeTypes: INodeTypes = {
    getByName: () => nodeType,
    getByNameAndVersion: () => nodeType,
    getKnownTypes: () => ({}),
  };
  const workflow = new wf.Workflow({ nodes: [node], connections: {}, active: false, nodeTypes });
  const executeData: IExecuteData = { node, data: {}, source: null };
  const context = new core.ExecuteContext(
    workflow,
    node,
    additionalData,
    'internal',
    wf.createRunExecutionData(),
    0,
    [],
    { main: [[{ json: {} }]] },
    executeData,
    [],
  );
  const routingNode = new core.RoutingNode(context, nodeType, { id: stored.id, name: stored.name, type: typeName, data });

  let response: Awaited<ReturnType<typeof routingNode.runNode>>;
  try {
    response = await routingNode.runNode();
  } catch (caught) {
    const error = caught as { message: string; cause?: { response?: { status: number; statusText?: string }; code?: string } };
    const failed = error.cause?.response;
    if (failed) {
      for (const rule of test.rules ?? []) {
        if (rule.type === 'responseCode' && failed.status === rule.properties.value) {
          return { status: 'Error', message: rule.properties.message };
        }
      }
      if (failed.status < 199 || failed.status > 299) {
        return { status: 'Error', message: failed.statusText || `Received HTTP status code: ${failed.status}` };
      }
    } else if (error.cause?.code) {
      return { status: 'Error', message: error.cause.code };
    }
    return { status: 'Error', message: String(error.message) };
  }

  for (const rule of test.rules ?? []) {
    if (rule.type !== 'responseSuccessBody') continue;
    const body = response?.[0]?.[0]?.json;
    if (getPath(body, rule.properties.key) === rule.properties.value) return { status: 'Error', message: rule.properties.message };
  }
  return { status: 'OK', message: 'Connection successful!' };
}

function getPath(value: unknown, path: string): unknown {
  let current = value;
  for (const key of path.split('.')) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}
