// Engine harness: runs n8n workflow JSON (nodes + connections, as n8n exports them) through the
// REAL n8n engine, with our node and credential types.
//
// Real (n8n-core 2.41 / n8n-workflow 2.41, unmodified): Workflow, WorkflowExecute and its
// execution loop (item pairing, continueOnFail / onError, error wrapping, multiple outputs,
// waiting), the node execution contexts (getNodeParameter with expressions, helpers such as
// httpRequestWithAuthentication and its HTTP client, putExecutionToWait, WebhookContext for
// resumes, $execution.resumeUrl), RoutingNode for credential `test` requests.
//
// Supplied by the harness (n8n's CLI package does these with a database and an HTTP server):
// - node/credential type registries (no package loader; see createEngine),
// - credentials held in memory (engine-credentials.ts: mirrors the CLI CredentialsHelper's
//   `authenticate`, defaults and preAuthentication, and the CLI credential tester),
// - additionalData (base URLs, hooks; sub-workflows and task runners are not available),
// - the execution store and the waiting-webhook handling for resume (mirrors the CLI's
//   waiting-webhooks.ts + webhook-helpers.ts: disable the waiting node, drop its run, call the
//   node's webhook() with a request object, feed its workflowData back, continue the run),
// - the wait tracker's resume when waitTill passes (resumeAfterWaitLimit: the saved execution
//   runs again with waitTill set; n8n-core's handleWaitingState does the rest),
// - DI set-up: InstanceSettings would otherwise create ~/.n8n/config (see prepareContainer),
// - the Manual Trigger start node (fixtures/ManualTrigger.node.ts; n8n-nodes-base is not installed),
// - activation of webhook triggers (activate(): mirrors the CLI's ActiveWorkflowManager.addWebhooks
//   + WebhookService.createWebhookIfNotExists/deleteWebhook, calling the node's webhookMethods
//   through n8n-core's real HookContext) and production webhook calls (mirrors the CLI's
//   webhook-helpers.ts executeWebhook: the node's webhook() through n8n-core's WebhookContext with
//   the parsed body and the raw bytes in request.rawBody, then a run from the trigger with its
//   workflowData), in-process or over the listen() server's /webhook/<path>.
//
// Node modules that import values from 'n8n-workflow' must be loaded AFTER this module (with
// `await import(...)`), or the test run with `--import ./test/nodes/esm-hook.ts`: see esm-hook.ts.

import './esm-hook.ts';
import { randomUUID, timingSafeEqual } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type {
  ExecutionError,
  ExecutionStatus,
  ICredentialType,
  IConnections,
  IDataObject,
  IHookFunctions,
  INode,
  INodeCredentialTestResult,
  INodeExecutionData,
  INodeType,
  INodeTypes,
  IRun,
  IRunData,
  IRunExecutionData,
  IVersionedNodeType,
  IWebhookData,
  IWebhookDescription,
  IWebhookResponseData,
  IWorkflowBase,
  IWorkflowExecuteAdditionalData,
  IWorkflowSettings,
  Workflow as WorkflowType,
  WorkflowActivateMode,
  WorkflowExecuteMode,
} from 'n8n-workflow';
import { HarnessCredentialsHelper, testCredential, type StoredCredential } from './engine-credentials.ts';
import { ManualTrigger } from './fixtures/ManualTrigger.node.ts';

export type { StoredCredential } from './engine-credentials.ts';

// CommonJS builds: the same module instances n8n-core uses internally.
const require = createRequire(import.meta.url);
const wf: typeof import('n8n-workflow') = require('n8n-workflow');
const core: typeof import('n8n-core') = require('n8n-core');
const { Container }: typeof import('@n8n/di') = require('@n8n/di');
const { GlobalConfig, InstanceSettingsConfig }: typeof import('@n8n/config') = require('@n8n/config');

/** A node type: a class with a no-argument constructor, or an instance (INodeType or VersionedNodeType). */
export type NodeTypeLike = INodeType | IVersionedNodeType | (new () => INodeType | IVersionedNodeType);
/** A node type registered under an explicit full type name, e.g. 'n8n-nodes-base.noOp'. */
export interface NamedNodeType {
  type: string;
  node: NodeTypeLike;
}
export type CredentialTypeLike = ICredentialType | (new () => ICredentialType);

export interface EngineOptions {
  /** Registered as `${packageName}.${description.name}` and `CUSTOM.${description.name}`. */
  nodeTypes?: Array<NodeTypeLike | NamedNodeType>;
  /** Registered under their `name`. */
  credentialTypes?: CredentialTypeLike[];
  /** Stored credentials by credential type name (several of one type are matched by node.credentials id). */
  credentials?: Record<string, StoredCredential | StoredCredential[]>;
  /** Package prefix of node types in workflow JSON. Default 'n8n-nodes-cortex' (what real installs get). */
  packageName?: string;
  /** Execution mode. Default 'trigger' (a production execution; $execution.mode is 'production'). */
  mode?: WorkflowExecuteMode;
  /** n8n's public base URL; resume URLs are `${baseUrl}/webhook-waiting/<executionId>?signature=…`. listen() replaces it. */
  baseUrl?: string;
  /** Give nodes that lack a credential entry for a type they declare the stored one. Default true. */
  assignCredentials?: boolean;
}

export interface WorkflowNodeJson extends Omit<INode, 'id' | 'position' | 'typeVersion'> {
  id?: string;
  typeVersion?: number;
  position?: [number, number];
}
export interface WorkflowJson {
  id?: string;
  name?: string;
  nodes: WorkflowNodeJson[];
  connections: IConnections;
  settings?: IWorkflowSettings;
  staticData?: IDataObject;
}

export interface RunOptions {
  /** Items the start node emits. Default [{ json: {} }]. */
  startNodeData?: INodeExecutionData[];
  /** Name of the node to start from. Default: n8n's Workflow.getStartNode() (the trigger). */
  startNode?: string;
}

export interface ResumeOptions {
  webhookBody?: unknown;
  webhookHeaders?: Record<string, string>;
  webhookQuery?: Record<string, string>;
  /** HTTP method of the call. Default 'POST'. */
  webhookMethod?: string;
  /** Path after /webhook-waiting/<executionId>/ (matched against the webhook's `path`). Default ''. */
  webhookSuffix?: string;
}

export interface RunResult {
  /** 'success' | 'error' | 'waiting' (also 'canceled' / 'crashed' in principle). */
  status: ExecutionStatus;
  executionId: string;
  /** The execution's error (NodeApiError / NodeOperationError instance) when status is 'error'. */
  error?: ExecutionError;
  /** Set while waiting: when n8n would resume the execution by itself. */
  waitTill?: Date;
  /** While waiting: the node that paused the execution. */
  waitingNode?: string;
  /** $execution.resumeUrl exactly as nodes of this execution see it. */
  resumeUrl: string;
  /** n8n's run data: node name → one ITaskData per run. */
  runData: IRunData;
  /** Nodes that finished, in order, during this run or resume. */
  executedNodes: string[];
  /** How many times the execution had been resumed when this result was produced (0 for run()). */
  resumeCount: number;
  /** For resume(): what n8n would answer the webhook caller (see resume). */
  webhookResponse?: unknown;
  /** The raw IRun returned by WorkflowExecute. */
  run: IRun;
  /** Output of a node's run (last by default), one item array per output. Throws if the node did not run. */
  outputOf(nodeName: string, runIndex?: number): INodeExecutionData[][];
  /** The json of the items on one output (default 0) of a node's run (last by default). */
  jsonOf(nodeName: string, output?: number, runIndex?: number): IDataObject[];
  /** The error recorded on a node's run (last by default), if any. */
  nodeError(nodeName: string, runIndex?: number): ExecutionError | undefined;
}

export interface Engine {
  run(workflow: WorkflowJson, options?: RunOptions): Promise<RunResult>;
  /** Delivers a webhook call to the waiting node of `result`'s execution and continues it. */
  resume(result: RunResult, options?: ResumeOptions): Promise<RunResult>;
  /** Runs a credential type's `test` request as n8n's "Test credential" does. */
  testCredential(type: string, credential?: StoredCredential): Promise<INodeCredentialTestResult>;
  /** Replaces the stored credential(s) of a type. */
  setCredentials(type: string, credential: StoredCredential | StoredCredential[]): void;
  /**
   * Starts a loopback HTTP server standing in for n8n's /webhook-waiting endpoint and makes it
   * the base URL of later runs, so resume URLs are callable. Returns the base URL.
   */
  listen(): Promise<string>;
  /** Resolves with the result of the next resume of `result`'s execution (e.g. one made over HTTP). */
  waitForResume(result: RunResult, timeoutMs?: number): Promise<RunResult>;
  /**
   * Continues a waiting execution the way n8n's WaitTracker does when its waitTill passes with
   * no webhook call: the saved execution data (a copy, waitTill still set) runs again through
   * WorkflowExecute.processRunExecutionData, whose handleWaitingState disables the waiting node
   * and drops its waiting run. The disabled node forwards its stack entry's data — its input,
   * unless the node replaced it before pausing — on output 0, or on every output when the
   * entry's metadata has forwardAllOutputs. The node's own return value is not used.
   */
  resumeAfterWaitLimit(result: RunResult): Promise<RunResult>;
  /** Stops the HTTP server, if started. */
  close(): Promise<void>;
  readonly baseUrl: string;
  readonly nodeTypes: INodeTypes;
  /**
   * Activates a workflow with webhook triggers as n8n does when a workflow is published: every
   * node's production webhooks get `checkExists`, then `create` if it answered false (n8n-core's
   * HookContext; mode 'trigger', activation 'activate'). Nodes with webhooks and no webhookId get
   * one (as n8n's editor does). Call listen() first when a remote service must reach the URLs.
   */
  activate(workflow: WorkflowJson, options?: ActivateOptions): Promise<Activation>;
}

export interface ActivateOptions {
  /**
   * Register test webhooks as the editor's "Listen for test event" does (n8n's TestWebhooks):
   * mode and activation 'manual', URLs under /webhook-test/. Pass the active workflow's static
   * data in the workflow JSON (n8n starts a test listener from the stored workflow).
   */
  test?: boolean;
}

/** A call to a production webhook (/webhook/<path>) of an active workflow. */
export interface WebhookCall {
  /** Default 'POST'. */
  method?: string;
  headers?: Record<string, string>;
  query?: Record<string, string>;
  /** The parsed body n8n hands the node (getBodyData). Default: rawBody parsed as JSON, else {}. */
  body?: unknown;
  /** The bytes received (request.rawBody); a string is taken as UTF-8. null: no rawBody at all. */
  rawBody?: Buffer | string | null;
}

export interface WebhookCallResult {
  /** What the caller gets: the status and body the node wrote (noWebhookResponse), or n8n's default answer. */
  statusCode: number;
  body: unknown;
  /** The webhook() answer carried workflowData, so an execution was started. */
  started: boolean;
  /** The started execution (when started). */
  execution?: Promise<RunResult>;
}

/** An active workflow (see Engine.activate). */
export interface Activation {
  /** The workflow as activated (normalized; webhookIds assigned). */
  readonly workflow: WorkflowJson;
  /** Results of the executions its webhooks started, in the order they finished. */
  readonly executions: RunResult[];
  /** The node's static data (`getWorkflowStaticData('node')`), live. */
  staticData(nodeName: string): IDataObject;
  /** The production URL of a node's webhook (default 'default'), as getNodeWebhookUrl gives it. */
  webhookUrl(nodeName: string, webhookName?: string): string;
  /** Delivers a webhook call in-process, as n8n's /webhook/<path> endpoint does. */
  call(nodeName: string, call?: WebhookCall): Promise<WebhookCallResult>;
  /** Resolves with the count-th execution started by a webhook (1-based; default: the next one). */
  waitForExecution(count?: number, timeoutMs?: number): Promise<RunResult>;
  /**
   * Runs checkExists → create again with the same static data, as n8n does for active workflows
   * at start-up (activation 'init'). `workflow` replaces the node parameters (e.g. changed events).
   */
  reactivate(workflow?: WorkflowJson, activation?: WorkflowActivateMode): Promise<void>;
  /** Deactivates: every webhook's `delete` (mode 'internal', activation 'update'). */
  deactivate(): Promise<void>;
}

const PREPARED = Symbol.for('cortex.test.engineContainerPrepared');

/**
 * n8n-core 2.x resolves services from the @n8n/di Container on first use. The only one that
 * needs help is InstanceSettings (instance id, encryption key for Credentials, HMAC secret for
 * signed URLs): built from InstanceSettingsConfig, it would read or create ~/.n8n/config. Give
 * it a throwaway folder and a fixed key. The Logger is silenced unless N8N_LOG_LEVEL is set:
 * n8n's ErrorReporter logs every node error, which the results already carry. Everything else
 * (OutboundHttp, SecurityConfig, ErrorReporter, BinaryDataService) works from its defaults.
 */
function prepareContainer(): void {
  const globals = globalThis as typeof globalThis & { [PREPARED]?: boolean };
  if (globals[PREPARED]) return;
  globals[PREPARED] = true;
  const folder = mkdtempSync(join(tmpdir(), 'cortex-n8n-engine-'));
  process.once('exit', () => rmSync(folder, { recursive: true, force: true }));
  const config = Object.assign(new InstanceSettingsConfig(), {
    n8nFolder: folder,
    userHome: folder,
    encryptionKey: 'cortex-engine-harness-encryption-key',
    enforceSettingsFilePermissions: false,
  });
  Container.set(InstanceSettingsConfig, config);
  if (!process.env.N8N_LOG_LEVEL) Container.get(GlobalConfig).logging.level = 'silent';
}

class HarnessNodeTypes implements INodeTypes {
  readonly byType = new Map<string, INodeType | IVersionedNodeType>();

  getByName(nodeType: string): INodeType | IVersionedNodeType {
    const found = this.byType.get(nodeType);
    if (!found) {
      throw new Error(`Unknown node type "${nodeType}"; registered: ${[...this.byType.keys()].join(', ')}`);
    }
    return found;
  }

  getByNameAndVersion(nodeType: string, version?: number): INodeType {
    return wf.NodeHelpers.getVersionedNodeType(this.getByName(nodeType), version);
  }

  getKnownTypes(): IDataObject {
    return {};
  }
}

interface ExecutionRecord {
  id: string;
  workflow: WorkflowJson;
  mode: WorkflowExecuteMode;
  data: IRunExecutionData;
  state: 'waiting' | 'running' | 'finished';
  /** A webhook call is being handled (between prepareResume and the end of its run). */
  busy: boolean;
  resumeCount: number;
  results: RunResult[];
  listeners: Array<(outcome: { result?: RunResult; error?: unknown }) => void>;
}

interface PreparedResume {
  record: ExecutionRecord;
  workflow: WorkflowType;
  data: IRunExecutionData;
  additionalData: IWorkflowExecuteAdditionalData;
  description: IWebhookDescription;
  response: IWebhookResponseData;
}

let executionCounter = 0;

export function createEngine(options: EngineOptions = {}): Engine {
  prepareContainer();
  return new HarnessEngine(options);
}

class HarnessEngine implements Engine {
  readonly nodeTypes = new HarnessNodeTypes();
  private readonly credentialsHelper: HarnessCredentialsHelper;
  private readonly executions = new Map<string, ExecutionRecord>();
  private readonly active = new Set<ActiveWorkflow>();
  private readonly mode: WorkflowExecuteMode;
  private readonly assignCredentials: boolean;
  private server: Server | undefined;
  baseUrl: string;

  constructor(options: EngineOptions) {
    this.mode = options.mode ?? 'trigger';
    this.baseUrl = (options.baseUrl ?? 'http://127.0.0.1:5678').replace(/\/$/, '');
    this.assignCredentials = options.assignCredentials ?? true;
    const packageName = options.packageName ?? 'n8n-nodes-cortex';

    const trigger = new ManualTrigger();
    this.nodeTypes.byType.set('n8n-nodes-base.manualTrigger', trigger);
    this.nodeTypes.byType.set(`${packageName}.manualTrigger`, trigger);
    for (const entry of options.nodeTypes ?? []) {
      if (typeof entry === 'object' && 'type' in entry && 'node' in entry) {
        this.nodeTypes.byType.set(entry.type, instantiate(entry.node));
        continue;
      }
      const nodeType = instantiate(entry);
      const name = nodeType.description.name;
      if (name.includes('.')) {
        this.nodeTypes.byType.set(name, nodeType);
      } else {
        this.nodeTypes.byType.set(`${packageName}.${name}`, nodeType);
        this.nodeTypes.byType.set(`CUSTOM.${name}`, nodeType);
      }
    }

    const types = new Map<string, ICredentialType>();
    for (const entry of options.credentialTypes ?? []) {
      const type = typeof entry === 'function' ? new entry() : entry;
      types.set(type.name, type);
    }
    const store = new Map<string, StoredCredential[]>();
    for (const [type, credential] of Object.entries(options.credentials ?? {})) {
      store.set(type, Array.isArray(credential) ? credential : [credential]);
    }
    this.credentialsHelper = new HarnessCredentialsHelper(types, store);
  }

  setCredentials(type: string, credential: StoredCredential | StoredCredential[]): void {
    this.credentialsHelper.store.set(type, Array.isArray(credential) ? credential : [credential]);
  }

  async testCredential(type: string, credential?: StoredCredential): Promise<INodeCredentialTestResult> {
    const stored = credential ?? this.credentialsHelper.store.get(type)?.[0];
    if (!stored) throw new Error(`No stored credential of type "${type}" to test`);
    return await testCredential(this.credentialsHelper, this.additionalData(`credential-test-${randomUUID()}`), type, stored);
  }

  async run(workflowJson: WorkflowJson, options: RunOptions = {}): Promise<RunResult> {
    const workflowCopy = this.normalize(workflowJson);
    const workflow = this.createWorkflow(workflowCopy);
    const startNode = options.startNode ? workflow.getNode(options.startNode) : workflow.getStartNode();
    if (!startNode) throw new Error(options.startNode ? `No node named "${options.startNode}"` : 'The workflow has no start node');

    const record: ExecutionRecord = {
      id: String(++executionCounter),
      workflow: workflowCopy,
      mode: this.mode,
      data: wf.createRunExecutionData({
        executionData: {
          nodeExecutionStack: [{ node: startNode, data: { main: [options.startNodeData ?? [{ json: {} }]] }, source: null }],
        },
      }),
      state: 'running',
      busy: false,
      resumeCount: 0,
      results: [],
      listeners: [],
    };
    this.executions.set(record.id, record);
    return await this.execute(record, workflow, record.data, this.additionalData(record.id));
  }

  async resume(result: RunResult, options: ResumeOptions = {}): Promise<RunResult> {
    const prepared = await this.prepareResume(result.executionId, options);
    if (!prepared.response.workflowData) return this.stillWaiting(prepared);
    return await this.continueResume(prepared);
  }

  async resumeAfterWaitLimit(result: RunResult): Promise<RunResult> {
    const record = this.record(result.executionId);
    if (record.state === 'running' || record.busy) throw new Error(`The execution "${record.id}" is running already.`);
    if (record.state !== 'waiting' || !record.data.waitTill) throw new Error(`The execution "${record.id}" is not waiting.`);
    record.busy = true;
    record.resumeCount += 1;
    // WaitTracker.startExecution → WorkflowRunner.run with the execution data as saved.
    const data = structuredClone(record.data);
    let next: RunResult;
    try {
      next = await this.execute(record, this.createWorkflow(record.workflow), data, this.additionalData(record.id));
    } catch (error) {
      for (const listener of [...record.listeners]) listener({ error });
      throw error;
    } finally {
      record.busy = false;
    }
    for (const listener of [...record.listeners]) listener({ result: next });
    return next;
  }

  async waitForResume(result: RunResult, timeoutMs = 10_000): Promise<RunResult> {
    const record = this.record(result.executionId);
    const later = record.results.find((r) => r.resumeCount > result.resumeCount);
    if (later) return later;
    return await new Promise<RunResult>((resolve, reject) => {
      const timer = setTimeout(() => {
        record.listeners = record.listeners.filter((l) => l !== listener);
        reject(new Error(`Execution ${record.id} was not resumed within ${timeoutMs} ms`));
      }, timeoutMs);
      const listener = (outcome: { result?: RunResult; error?: unknown }): void => {
        clearTimeout(timer);
        record.listeners = record.listeners.filter((l) => l !== listener);
        if (outcome.result) resolve(outcome.result);
        else reject(outcome.error);
      };
      record.listeners.push(listener);
    });
  }

  async listen(): Promise<string> {
    if (this.server) return this.baseUrl;
    const server = createServer((req, res) => {
      if (req.url?.startsWith('/webhook/') || req.url?.startsWith('/webhook-test/')) void this.handleProductionWebhook(req, res);
      else void this.handleWaitingWebhook(req, res);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('Unexpected server address');
    this.server = server;
    this.baseUrl = `http://127.0.0.1:${address.port}`;
    return this.baseUrl;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  // --- executions --------------------------------------------------------------------------

  /** Fills what n8n's editor would have set (ids, versions, credentials); never mutates the input. */
  private normalize(workflowJson: WorkflowJson): WorkflowJson {
    const copy = structuredClone(workflowJson);
    copy.id ??= `workflow-${randomUUID()}`;
    copy.name ??= 'Harness workflow';
    copy.settings = { executionOrder: 'v1', ...(copy.settings ?? {}) };
    for (const node of copy.nodes) {
      node.id ??= randomUUID();
      node.position ??= [0, 0];
      node.typeVersion ??= defaultVersion(this.nodeTypes.getByName(node.type));
      node.parameters ??= {};
      if (!this.assignCredentials) continue;
      const declared = this.nodeTypes.getByNameAndVersion(node.type, node.typeVersion).description.credentials ?? [];
      for (const { name } of declared) {
        const stored = this.credentialsHelper.store.get(name)?.[0];
        if (stored && !node.credentials?.[name]) node.credentials = { ...(node.credentials ?? {}), [name]: { id: stored.id, name: stored.name } };
      }
    }
    return copy;
  }

  private createWorkflow(json: WorkflowJson): WorkflowType {
    return new wf.Workflow({
      id: json.id,
      name: json.name,
      nodes: json.nodes as INode[],
      connections: json.connections,
      active: false,
      nodeTypes: this.nodeTypes,
      settings: json.settings,
      staticData: json.staticData,
    });
  }

  private additionalData(executionId: string): IWorkflowExecuteAdditionalData {
    const base = this.baseUrl;
    return {
      credentialsHelper: this.credentialsHelper,
      executionId,
      restApiUrl: `${base}/rest`,
      instanceBaseUrl: base,
      formBaseUrl: `${base}/form`,
      formWaitingBaseUrl: `${base}/form-waiting`,
      formTestBaseUrl: `${base}/form-test`,
      webhookBaseUrl: `${base}/webhook`,
      webhookWaitingBaseUrl: `${base}/webhook-waiting`,
      webhookTestBaseUrl: `${base}/webhook-test`,
      mcpBaseUrl: `${base}/mcp`,
      mcpTestBaseUrl: `${base}/mcp-test`,
      variables: {},
      currentNodeExecutionIndex: 0,
      externalSecretsProxy: new core.ExternalSecretsProxy(),
      executeWorkflow: async () => {
        throw new Error('Sub-workflows are not available in the engine harness');
      },
      startRunnerTask: async () => {
        throw new Error('Task runners (Code node) are not available in the engine harness');
      },
      getRunExecutionData: async (id: string) => this.executions.get(id)?.data,
      getRuntimeCredential: async () => undefined,
      logAiEvent: () => {},
    };
  }

  private async execute(
    record: ExecutionRecord,
    workflow: WorkflowType,
    data: IRunExecutionData,
    additionalData: IWorkflowExecuteAdditionalData,
  ): Promise<RunResult> {
    const workflowData: IWorkflowBase = {
      id: workflow.id,
      name: workflow.name ?? '',
      nodes: Object.values(workflow.nodes),
      connections: record.workflow.connections,
      settings: record.workflow.settings,
      active: false,
      isArchived: false,
      activeVersionId: null,
      createdAt: new Date(),
      updatedAt: new Date(),
    };
    const hooks = new core.ExecutionLifecycleHooks(record.mode, record.id, workflowData);
    const executedNodes: string[] = [];
    hooks.addHandler('nodeExecuteAfter', (nodeName) => {
      executedNodes.push(nodeName);
    });
    additionalData.hooks = hooks;
    record.state = 'running';
    try {
      const run = await new core.WorkflowExecute(additionalData, record.mode, data).processRunExecutionData(workflow);
      record.data = run.data;
      record.state = run.status === 'waiting' ? 'waiting' : 'finished';
      const result = this.result(record, run, executedNodes, additionalData);
      record.results.push(result);
      return result;
    } catch (error) {
      record.state = 'finished';
      throw error;
    }
  }

  private result(record: ExecutionRecord, run: IRun, executedNodes: string[], additionalData: IWorkflowExecuteAdditionalData): RunResult {
    const runData = run.data.resultData.runData;
    const task = (nodeName: string, runIndex?: number) => {
      const runs = runData[nodeName];
      if (!runs?.length) {
        throw new Error(`Node "${nodeName}" did not run; nodes with run data: ${Object.keys(runData).join(', ') || 'none'}`);
      }
      const found = runs.at(runIndex ?? -1);
      if (!found) throw new Error(`Node "${nodeName}" has no run ${runIndex}`);
      return found;
    };
    const outputOf = (nodeName: string, runIndex?: number) => (task(nodeName, runIndex).data?.main ?? []).map((items) => items ?? []);
    return {
      status: run.status,
      executionId: record.id,
      error: run.data.resultData.error,
      waitTill: run.waitTill ?? undefined,
      waitingNode: run.status === 'waiting' ? run.data.resultData.lastNodeExecuted : undefined,
      resumeUrl: String(core.getAdditionalKeys(additionalData, record.mode, run.data).$execution?.resumeUrl),
      runData,
      executedNodes,
      resumeCount: record.resumeCount,
      run,
      outputOf,
      jsonOf: (nodeName, output = 0, runIndex) => (outputOf(nodeName, runIndex)[output] ?? []).map((item) => item.json),
      nodeError: (nodeName, runIndex) => task(nodeName, runIndex).error,
    };
  }

  private record(executionId: string): ExecutionRecord {
    const record = this.executions.get(executionId);
    if (!record) throw new Error(`The execution "${executionId}" does not exist.`);
    return record;
  }

  // --- resume (n8n CLI: waiting-webhooks.ts getWebhookExecutionData + webhook-helpers.ts) ----

  private async prepareResume(executionId: string, options: ResumeOptions): Promise<PreparedResume> {
    const record = this.record(executionId);
    if (record.state === 'running' || record.busy) throw new Error(`The execution "${executionId}" is running already.`);
    if (record.state === 'finished') throw new Error(`The execution "${executionId}" has finished already.`);
    record.busy = true;
    try {
      return await this.callWebhook(record, options);
    } catch (error) {
      record.busy = false;
      throw error;
    }
  }

  private async callWebhook(record: ExecutionRecord, options: ResumeOptions): Promise<PreparedResume> {
    const executionId = record.id;
    // Work on a copy: if the webhook declines to resume, the stored execution stays as it was
    // (n8n only saves after the run continues).
    const data = structuredClone(record.data);
    const workflow = this.createWorkflow(record.workflow);
    const lastNodeExecuted = data.resultData.lastNodeExecuted;
    const node = lastNodeExecuted ? workflow.getNode(lastNodeExecuted) : null;
    if (!node) throw new Error('Could not find node to process webhook.');
    const stackEntry = data.executionData?.nodeExecutionStack[0];
    if (!stackEntry) throw new Error(`The execution "${executionId}" has nothing to resume.`);

    const method = (options.webhookMethod ?? 'POST').toUpperCase();
    const suffix = options.webhookSuffix ?? '';
    const additionalData = this.additionalData(record.id);
    const nodeType = workflow.nodeTypes.getByNameAndVersion(node.type, node.typeVersion);
    const description = (nodeType.description.webhooks ?? []).find(
      (webhook) =>
        webhook.restartWebhook === true &&
        webhook.nodeType !== 'form' &&
        String(this.webhookField(workflow, node, webhook, 'httpMethod', record.mode)).toUpperCase() === method &&
        String(this.webhookField(workflow, node, webhook, 'path', record.mode) ?? '') === suffix,
    );
    if (!description || !nodeType.webhook) {
      throw new Error(`The workflow for execution "${executionId}" does not contain a waiting webhook with a matching path/method.`);
    }

    // Disabled so the waiting node passes the webhook's data on instead of waiting again; its
    // waiting run is dropped so it is not shown as executed twice.
    stackEntry.node.disabled = true;
    data.waitTill = undefined;
    data.resultData.runData[node.name]?.pop();

    const headers = Object.fromEntries(Object.entries(options.webhookHeaders ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
    const request = { method, url: `/webhook-waiting/${executionId}${suffix ? `/${suffix}` : ''}`, headers, query: options.webhookQuery ?? {}, params: {}, body: options.webhookBody ?? {} };
    additionalData.httpRequest = request as unknown as IWorkflowExecuteAdditionalData['httpRequest'];
    additionalData.httpResponse = fakeResponse() as unknown as IWorkflowExecuteAdditionalData['httpResponse'];
    const webhookData: IWebhookData = {
      httpMethod: method as IWebhookData['httpMethod'],
      node: node.name,
      path: suffix,
      webhookDescription: description,
      workflowId: workflow.id,
      workflowExecuteAdditionalData: additionalData,
      webhookId: node.webhookId,
    };
    const context = new core.WebhookContext(workflow, node, additionalData, record.mode, webhookData, [], data);
    const response = await nodeType.webhook.call(context);
    return { record, workflow, data, additionalData, description, response };
  }

  private webhookField(workflow: WorkflowType, node: INode, webhook: IWebhookDescription, field: string, mode: WorkflowExecuteMode): unknown {
    const native = wf.resolveWebhookDescriptionField(workflow.nodes[node.name] ?? node, webhook, field);
    if (native.resolved) return native.value;
    const value = webhook[field];
    if (typeof value !== 'string' || !wf.isExpression(value)) return value;
    return workflow.expression.getSimpleParameterValue(node, value, mode, {}, undefined, undefined);
  }

  private stillWaiting(prepared: PreparedResume): RunResult {
    prepared.record.busy = false;
    const last = prepared.record.results.at(-1);
    if (!last) throw new Error('No result to resume from');
    return { ...last, executedNodes: [], webhookResponse: prepared.response.webhookResponse ?? { message: 'Webhook call received' } };
  }

  private async continueResume(prepared: PreparedResume): Promise<RunResult> {
    const { record, workflow, data, additionalData, response } = prepared;
    const stackEntry = data.executionData!.nodeExecutionStack[0]!;
    stackEntry.data.main = response.workflowData ?? [];
    // The resuming node is disabled; make it forward every output, not just the first.
    stackEntry.metadata = { ...stackEntry.metadata, forwardAllOutputs: true };
    record.resumeCount += 1;
    let result: RunResult;
    try {
      result = await this.execute(record, workflow, data, additionalData);
    } catch (error) {
      for (const listener of [...record.listeners]) listener({ error });
      throw error;
    } finally {
      record.busy = false;
    }
    const responseMode = prepared.description.responseMode ?? 'onReceived';
    if (response.webhookResponse !== undefined) result.webhookResponse = response.webhookResponse;
    else if (responseMode === 'lastNode') result.webhookResponse = lastNodeJson(result);
    else result.webhookResponse = { message: 'Workflow was started' };
    for (const listener of [...record.listeners]) listener({ result });
    return result;
  }

  // --- active workflows (n8n CLI: active-workflow-manager.ts, webhook.service.ts, webhook-helpers.ts)

  async activate(workflowJson: WorkflowJson, options: ActivateOptions = {}): Promise<Activation> {
    const json = this.normalize(workflowJson);
    for (const node of json.nodes) {
      const webhooks = this.nodeTypes.getByNameAndVersion(node.type, node.typeVersion).description.webhooks ?? [];
      if (webhooks.length > 0) node.webhookId ??= randomUUID();
    }
    const active = new ActiveWorkflow(this, json, options.test === true);
    await active.register(options.test ? 'manual' : 'activate');
    this.active.add(active);
    return active;
  }

  /** For ActiveWorkflow (same module): the harness internals it needs. */
  internals() {
    return {
      nodeTypes: this.nodeTypes,
      mode: this.mode,
      createWorkflow: (json: WorkflowJson) => this.createWorkflow(json),
      normalize: (json: WorkflowJson) => this.normalize(json),
      additionalData: (executionId: string) => this.additionalData(executionId),
      run: (json: WorkflowJson, options: RunOptions) => this.run(json, options),
      forget: (active: ActiveWorkflow) => this.active.delete(active),
    };
  }

  /** /webhook/<path> (active workflows) and /webhook-test/<path> (test listeners). */
  private async handleProductionWebhook(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const send = (status: number, body: unknown): void => {
      if (res.headersSent) return;
      const text = typeof body === 'string' ? body : JSON.stringify(body ?? null);
      res.writeHead(status, { 'content-type': typeof body === 'string' ? 'text/plain' : 'application/json' });
      res.end(text);
    };
    try {
      const url = new URL(req.url ?? '/', this.baseUrl);
      const test = url.pathname.startsWith('/webhook-test/');
      const path = trimSlashes(decodeURIComponent(url.pathname.slice(test ? '/webhook-test/'.length : '/webhook/'.length)));
      const method = (req.method ?? 'GET').toUpperCase();
      for (const active of this.active) {
        const target = active.find(method, path, test);
        if (!target) continue;
        const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : (v ?? '')]));
        const rawBody = Buffer.from(await readBody(req), 'utf8');
        const result = await active.call(target.node, { method, headers, query: Object.fromEntries(url.searchParams), rawBody });
        return send(result.statusCode, result.body);
      }
      return send(404, { code: 404, message: `The requested webhook "${method} ${path}" is not registered.` });
    } catch (error) {
      send(500, { message: (error as Error).message });
    }
  }

  // --- HTTP stand-in for n8n's /webhook-waiting/:executionId[/:suffix] --------------------

  private async handleWaitingWebhook(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const send = (status: number, body: unknown): void => {
      if (res.headersSent) return;
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body ?? null));
    };
    try {
      const url = new URL(req.url ?? '/', this.baseUrl);
      const match = /^\/webhook-waiting\/([^/]+)(?:\/(.*))?$/.exec(url.pathname);
      const record = match ? this.executions.get(decodeURIComponent(match[1]!)) : undefined;
      if (!match || !record) return send(404, { message: 'The requested webhook is not registered.' });
      if (!this.signatureValid(record, url)) return send(401, { error: 'Invalid token' });
      if (record.state !== 'waiting' || record.busy) {
        return send(409, { message: `The execution "${record.id}" ${record.state === 'finished' ? 'has finished already' : 'is running already'}.` });
      }
      const query = Object.fromEntries(url.searchParams);
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : (v ?? '')]));
      const body = parseBody(await readBody(req), headers['content-type']);
      let prepared: PreparedResume;
      try {
        prepared = await this.prepareResume(record.id, {
          webhookMethod: req.method,
          webhookSuffix: match[2] ? decodeURIComponent(match[2]) : '',
          webhookBody: body,
          webhookHeaders: headers,
          webhookQuery: query,
        });
      } catch (error) {
        return send(500, { message: (error as Error).message });
      }
      if (!prepared.response.workflowData) return send(200, this.stillWaiting(prepared).webhookResponse);
      const responseMode = prepared.description.responseMode ?? 'onReceived';
      const running = this.continueResume(prepared);
      if (responseMode === 'lastNode') {
        const result = await running.catch(() => undefined);
        return result ? send(200, result.webhookResponse) : send(500, { message: 'Error in workflow' });
      }
      running.catch(() => {}); // reported to waitForResume listeners
      return send(200, prepared.response.webhookResponse ?? { message: 'Workflow was started' });
    } catch (error) {
      send(500, { message: (error as Error).message });
    }
  }

  /** `?signature=` must be the execution's resume token (as in $execution.resumeUrl) or n8n's HMAC URL signature. */
  private signatureValid(record: ExecutionRecord, url: URL): boolean {
    const given = url.searchParams.get(core.WAITING_TOKEN_QUERY_PARAM);
    if (!given) return false;
    const token = record.data.resumeToken;
    if (token && given.length === token.length && timingSafeEqual(Buffer.from(given), Buffer.from(token))) return true;
    return core.validateUrlSignature(given, url, Container.get(core.InstanceSettings).hmacSignatureSecret);
  }
}

/** An activated workflow: its Workflow instance (static data lives on it) and its webhooks. */
class ActiveWorkflow implements Activation {
  readonly executions: RunResult[] = [];
  workflow: WorkflowJson;
  private instance: WorkflowType;
  private readonly engine: ReturnType<HarnessEngine['internals']>;
  private readonly waiters: Array<{ count: number; resolve: (result: RunResult) => void; reject: (error: unknown) => void }> = [];
  private deactivated = false;
  private readonly test: boolean;

  constructor(engine: HarnessEngine, json: WorkflowJson, test: boolean) {
    this.engine = engine.internals();
    this.test = test;
    this.workflow = json;
    this.instance = this.engine.createWorkflow(json);
  }

  /** The production webhooks (restart webhooks excluded), as WebhookService.getNodeWebhooks lists them. */
  private webhooks(): Array<{ node: INode; description: IWebhookDescription; method: string; path: string }> {
    const found: Array<{ node: INode; description: IWebhookDescription; method: string; path: string }> = [];
    for (const node of Object.values(this.instance.nodes)) {
      if (node.disabled) continue;
      const nodeType = this.engine.nodeTypes.getByNameAndVersion(node.type, node.typeVersion);
      for (const description of nodeType.description.webhooks ?? []) {
        if (description.restartWebhook === true) continue;
        const field = (name: string, fallback?: unknown): unknown => {
          const native = wf.resolveWebhookDescriptionField(node, description, name);
          if (native.resolved) return native.value;
          return this.instance.expression.getSimpleParameterValue(node, description[name] as string, 'internal', {}, undefined, fallback as undefined);
        };
        const path = trimSlashes(String(field('path') ?? ''));
        const fullPath = wf.NodeHelpers.getNodeWebhookPath(this.instance.id, node, path, field('isFullPath', false) === true, false);
        for (const method of String(field('httpMethod', 'GET')).split(',')) {
          if (method.trim()) found.push({ node, description, method: method.trim().toUpperCase(), path: fullPath });
        }
      }
    }
    return found;
  }

  private webhookData(node: INode, description: IWebhookDescription, method: string, path: string, additionalData: IWorkflowExecuteAdditionalData): IWebhookData {
    return {
      httpMethod: method as IWebhookData['httpMethod'],
      node: node.name,
      path,
      webhookDescription: description,
      workflowId: this.instance.id,
      workflowExecuteAdditionalData: additionalData,
      webhookId: node.webhookId,
      ...(this.test ? { isTest: true } : {}),
    };
  }

  /** n8n-core HookContexts for each node webhook description with lifecycle methods (several HTTP methods share one). */
  private hookContexts(mode: WorkflowExecuteMode, activation: WorkflowActivateMode) {
    const found: Array<{ methods: Partial<Record<'checkExists' | 'create' | 'delete', (this: IHookFunctions) => Promise<boolean>>>; context: InstanceType<typeof core.HookContext> }> = [];
    const seen = new Set<string>();
    for (const webhook of this.webhooks()) {
      const key = `${webhook.node.name}\u0000${webhook.description.name}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const nodeType = this.engine.nodeTypes.getByNameAndVersion(webhook.node.type, webhook.node.typeVersion);
      const methods = (nodeType.webhookMethods as Record<string, (typeof found)[number]['methods']> | undefined)?.[webhook.description.name];
      if (!methods) continue;
      const additionalData = this.engine.additionalData(`activation-${randomUUID()}`);
      const data = this.webhookData(webhook.node, webhook.description, webhook.method, webhook.path, additionalData);
      found.push({ methods, context: new core.HookContext(this.instance, webhook.node, additionalData, mode, activation, data) });
    }
    return found;
  }

  /** Test listeners run in 'manual' mode (n8n's TestWebhooks), active workflows in the engine's mode. */
  private mode(): WorkflowExecuteMode {
    return this.test ? 'manual' : this.engine.mode;
  }

  /** checkExists, then create where it answered false (WebhookService.createWebhookIfNotExists). */
  async register(activation: WorkflowActivateMode): Promise<void> {
    for (const { methods, context } of this.hookContexts(this.mode(), activation)) {
      const exists = methods.checkExists ? await methods.checkExists.call(context) : false;
      if (!exists && methods.create) await methods.create.call(context);
    }
  }

  async reactivate(workflow?: WorkflowJson, activation: WorkflowActivateMode = 'init'): Promise<void> {
    if (workflow) {
      const staticData = JSON.parse(JSON.stringify(this.instance.staticData)) as IDataObject;
      const json = this.engine.normalize({ ...workflow, id: this.workflow.id });
      for (const node of json.nodes) {
        const before = this.workflow.nodes.find((old) => old.name === node.name);
        if (before?.webhookId) node.webhookId ??= before.webhookId;
      }
      this.workflow = { ...json, staticData };
      this.instance = this.engine.createWorkflow(this.workflow);
    }
    await this.register(activation);
  }

  async deactivate(): Promise<void> {
    for (const { methods, context } of this.hookContexts('internal', 'update')) {
      if (methods.delete) await methods.delete.call(context);
    }
    this.deactivated = true;
    this.engine.forget(this);
  }

  staticData(nodeName: string): IDataObject {
    const node = this.instance.getNode(nodeName);
    if (!node) throw new Error(`No node named "${nodeName}"`);
    return this.instance.getStaticData('node', node);
  }

  webhookUrl(nodeName: string, webhookName = 'default'): string {
    const webhook = this.webhooks().find((w) => w.node.name === nodeName && w.description.name === webhookName);
    if (!webhook) throw new Error(`Node "${nodeName}" has no production webhook "${webhookName}"`);
    const urls = this.engine.additionalData('url');
    return `${this.test ? urls.webhookTestBaseUrl : urls.webhookBaseUrl}/${webhook.path}`;
  }

  find(method: string, path: string, test: boolean): { node: string } | undefined {
    if (this.deactivated || test !== this.test) return undefined;
    const webhook = this.webhooks().find((w) => w.method === method && w.path === path);
    return webhook ? { node: webhook.node.name } : undefined;
  }

  async call(nodeName: string, call: WebhookCall = {}): Promise<WebhookCallResult> {
    const method = (call.method ?? 'POST').toUpperCase();
    const webhook = this.webhooks().find((w) => w.node.name === nodeName && w.method === method);
    if (!webhook) throw new Error(`Node "${nodeName}" has no ${method} production webhook`);
    const nodeType = this.engine.nodeTypes.getByNameAndVersion(webhook.node.type, webhook.node.typeVersion);
    if (!nodeType.webhook) throw new Error(`Node "${nodeName}" has no webhook()`);

    const headers = Object.fromEntries(Object.entries(call.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]));
    const rawBody = call.rawBody === null ? undefined : typeof call.rawBody === 'string' ? Buffer.from(call.rawBody, 'utf8') : call.rawBody;
    // n8n's parseBody: JSON, form and text bodies are parsed from the raw bytes by content type.
    const body = call.body !== undefined ? call.body : rawBody?.length ? parseBody(rawBody.toString('utf8'), headers['content-type'] ?? 'application/json') : {};
    const request = {
      method,
      url: `/webhook/${webhook.path}`,
      headers,
      query: call.query ?? {},
      params: {},
      body,
      ...(rawBody !== undefined ? { rawBody } : {}),
      contentType: (headers['content-type'] ?? '').split(';')[0]?.trim(),
    };
    const response = new RecordedResponse();
    const additionalData = this.engine.additionalData(`webhook-${randomUUID()}`);
    additionalData.httpRequest = request as unknown as IWorkflowExecuteAdditionalData['httpRequest'];
    additionalData.httpResponse = response as unknown as IWorkflowExecuteAdditionalData['httpResponse'];
    const data = this.webhookData(webhook.node, webhook.description, method, webhook.path, additionalData);
    const context = new core.WebhookContext(this.instance, webhook.node, additionalData, this.mode(), data, [], null);
    const answer: IWebhookResponseData = await nodeType.webhook.call(context);

    if (answer.noWebhookResponse === true && answer.workflowData === undefined) {
      return { statusCode: response.statusCode, body: response.body, started: false };
    }
    if (answer.workflowData === undefined) {
      return { statusCode: 200, body: answer.webhookResponse ?? { message: 'Webhook call received' }, started: false };
    }
    const execution = this.engine
      .run({ ...this.workflow, staticData: JSON.parse(JSON.stringify(this.instance.staticData)) as IDataObject }, { startNode: webhook.node.name, startNodeData: answer.workflowData[0] ?? [] })
      .then((result) => {
        this.executions.push(result);
        for (const waiter of [...this.waiters]) {
          if (this.executions.length >= waiter.count) waiter.resolve(this.executions[waiter.count - 1]!);
        }
        return result;
      });
    // An execution that throws (not a node error: those end in status 'error') fails the waiters.
    execution.catch((error: unknown) => {
      for (const waiter of [...this.waiters]) waiter.reject(error);
    });
    const statusCode = response.statusCode;
    if (answer.noWebhookResponse === true) return { statusCode, body: response.body, started: true, execution };
    return { statusCode: 200, body: answer.webhookResponse ?? { message: 'Workflow was started' }, started: true, execution };
  }

  async waitForExecution(count = this.executions.length + 1, timeoutMs = 10_000): Promise<RunResult> {
    const done = this.executions[count - 1];
    if (done) return done;
    return await new Promise<RunResult>((resolve, reject) => {
      const waiter = {
        count,
        resolve: (result: RunResult) => {
          clearTimeout(timer);
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          resolve(result);
        },
        reject: (error: unknown) => {
          clearTimeout(timer);
          this.waiters.splice(this.waiters.indexOf(waiter), 1);
          reject(error);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new Error(`No execution #${count} of workflow ${this.workflow.id} within ${timeoutMs} ms (${this.executions.length} so far)`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }
}

/** The express Response methods a webhook() may use, recorded (status, body, headers). */
class RecordedResponse {
  statusCode = 200;
  headersSent = false;
  body: unknown = undefined;
  readonly headers: Record<string, string> = {};
  readonly locals: Record<string, unknown> = {};

  status(code: number): this {
    this.statusCode = code;
    return this;
  }

  json(body: unknown): this {
    this.headers['content-type'] = 'application/json';
    return this.end(body);
  }

  send(body?: unknown): this {
    return this.end(body);
  }

  end(body?: unknown): this {
    if (body !== undefined) this.body = Buffer.isBuffer(body) ? body.toString('utf8') : body;
    this.headersSent = true;
    return this;
  }

  setHeader(name: string, value: string): this {
    this.headers[name.toLowerCase()] = String(value);
    return this;
  }

  header(name: string, value: string): this {
    return this.setHeader(name, value);
  }

  set(name: string, value: string): this {
    return this.setHeader(name, value);
  }

  type(value: string): this {
    return this.setHeader('content-type', value);
  }
}

function trimSlashes(path: string): string {
  return path.replace(/^\/+/, '').replace(/\/+$/, '');
}

function instantiate<T extends object>(entry: T | (new () => T)): T {
  return typeof entry === 'function' ? new (entry as new () => T)() : entry;
}

function defaultVersion(nodeType: INodeType | IVersionedNodeType): number {
  const description = nodeType.description as { defaultVersion?: number; version?: number | number[] };
  if (typeof description.defaultVersion === 'number') return description.defaultVersion;
  const version = description.version ?? 1;
  return Array.isArray(version) ? Math.max(...version) : version;
}

function lastNodeJson(result: RunResult): unknown {
  const last = result.run.data.resultData.lastNodeExecuted;
  if (!last) return undefined;
  return result.outputOf(last)[0]?.[0]?.json;
}

/** The express Response methods n8n's webhook context and nodes may touch; writes are discarded. */
function fakeResponse(): Record<string, unknown> {
  const res: Record<string, unknown> = { headersSent: false, statusCode: 200, locals: {} };
  for (const method of ['status', 'setHeader', 'header', 'set', 'type', 'json', 'send', 'end', 'write', 'render', 'redirect']) {
    res[method] = () => res;
  }
  return res;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function parseBody(text: string, contentType = ''): unknown {
  if (text === '') return {};
  if (contentType.includes('application/json')) return JSON.parse(text);
  if (contentType.includes('application/x-www-form-urlencoded')) return Object.fromEntries(new URLSearchParams(text));
  return text;
}

