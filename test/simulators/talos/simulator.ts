// Talos simulator: the machine API (machine.MachineService, cluster.ClusterService) over gRPC
// with real mutual TLS and Ed25519 certificates, for several machines.
//
// Addresses (all loopback, one port P for every address, like Talos's 50000):
//   - endpoint 127.0.0.10:P — a control-plane VIP: mTLS, routes each call to the machine named by
//     the `node` metadata (IP or hostname), default the first running control plane;
//   - each machine's own address (127.0.0.11:P, …): in maintenance mode TLS with a self-signed
//     certificate and no client certificate (only ApplyConfiguration and Version); once configured
//     mTLS like the endpoint. While a machine is down its listener is closed (connection refused).
//
// Behaviour follows the reference notes: apply config (modes, dry run with a diff and warnings),
// bootstrap once per cluster (AlreadyExists "etcd data directory is not empty" afterwards), boot
// ids that change on reboot/upgrade, events with actor ids, etcd members, a .tar.gz kubeconfig,
// an etcd snapshot stream (with etcd's trailing sha256), services, health check progress.

import * as grpc from '@grpc/grpc-js';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { stringify as toYaml } from 'yaml';
import { serviceMethods, encode, decode, type MethodInfo } from '../../../nodes/Talos/transport/proto.ts';
import { createCa, issueCert, selfSigned, talosKeyLabel, type CertPair } from './pki.ts';
import { Machine, eventMessage, lineDiff, parseMachineConfig, type Role, type SimEvent, type Timing } from './machines.ts';
import { tarGz } from './tar.ts';

export interface KubernetesAccess {
  server: string;
  ca: string;
  cert: string;
  key: string;
}

export interface TalosSimulatorOptions {
  /** Machine addresses (loopback IPs). Default 127.0.0.11, .12, .13. */
  machineIps?: string[];
  /** VIP endpoint address. Default 127.0.0.10. */
  endpointIp?: string;
  /** Port for every address; 0 picks a free one. Default 0. */
  port?: number;
  timing?: Partial<Timing>;
  /** Talos version the machines start with. */
  tag?: string;
  /** Where the kubeconfig points (the Kubernetes fake). */
  kubernetes?: KubernetesAccess;
  clusterName?: string;
}

export interface EtcdMemberState {
  id: string;
  hostname: string;
  ip: string;
}

class SimError extends Error {
  readonly code: number;
  constructor(code: number, message: string) {
    super(message);
    this.code = code;
  }
}

type Via = { kind: 'endpoint' } | { kind: 'direct'; machine: Machine };

interface Ctx {
  machine: Machine;
  request: Record<string, any>;
  via: Via;
  call: { metadata: grpc.Metadata; cancelled?: boolean };
}

interface StreamSink {
  write(message: object): boolean;
  closed(): boolean;
  onClose(fn: () => void): void;
}

const MAINTENANCE_METHODS = new Set(['ApplyConfiguration', 'Version']);
const UPLOAD_LIMIT = 256 * 1024 * 1024;

export class TalosSimulator {
  readonly ca: CertPair;
  readonly serverCert: CertPair;
  /** Admin client certificate; `key` labelled "ED25519 PRIVATE KEY" as talosctl writes it. */
  readonly clientCert: CertPair;
  readonly maintenanceCert: CertPair;
  readonly machines: Machine[];
  readonly endpointIp: string;
  port = 0;
  bootstrapped = false;
  etcdMembers: EtcdMemberState[] = [];
  /** sha256 (hex) of the snapshot the cluster's etcd was recovered from, if it was. */
  recoveredFrom: string | undefined;
  private readonly recoverySnapshots = new Map<string, Buffer>();
  clusterName: string;
  kubernetes: KubernetesAccess | undefined;
  readonly timing: Timing;
  /** Every call the simulator handled: method, node metadata, address. */
  readonly calls: Array<{ method: string; node: string | undefined; via: string }> = [];
  private endpointServer: grpc.Server | undefined;
  private readonly machineServers = new Map<string, grpc.Server>();
  private readonly tag: string;
  private stopped = false;

  constructor(options: TalosSimulatorOptions = {}) {
    this.endpointIp = options.endpointIp ?? '127.0.0.10';
    const ips = options.machineIps ?? ['127.0.0.11', '127.0.0.12', '127.0.0.13'];
    this.port = options.port ?? 0;
    this.tag = options.tag ?? 'v1.9.5';
    this.timing = { downMs: 600, bootMs: 300, stopMs: 100, ...(options.timing ?? {}) };
    this.kubernetes = options.kubernetes;
    this.clusterName = options.clusterName ?? 'cortex-sim';
    this.ca = createCa('talos', 'ed25519', 'talos');
    this.serverCert = issueCert(this.ca, { commonName: 'apid', ips: [this.endpointIp, ...ips], dnsNames: ['localhost'], usage: 'server' });
    const client = issueCert(this.ca, { commonName: 'admin', organization: 'os:admin', usage: 'client' });
    this.clientCert = { cert: client.cert, key: talosKeyLabel(client.key) };
    this.maintenanceCert = selfSigned('maintenance-service', ips);
    this.machines = ips.map((ip) => new Machine(ip, `talos-${ip.split('.').join('-')}`, this.tag));
  }

  // --- lifecycle -------------------------------------------------------------------------------

  async start(): Promise<void> {
    for (let attempt = 0; attempt < 10; attempt++) {
      const requested = this.port;
      try {
        this.endpointServer = this.newServer({ kind: 'endpoint' });
        this.port = await bind(this.endpointServer, `${this.endpointIp}:${requested}`, this.secureCredentials());
        for (const machine of this.machines) await this.listen(machine);
        return;
      } catch (error) {
        await this.closeServers();
        if (requested !== 0 || attempt === 9) throw error;
        this.port = 0;
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const machine of this.machines) {
      machine.stopTimers();
      machine.dropCalls('simulator stopped');
    }
    await this.closeServers();
  }

  get endpoint(): string {
    return `${this.endpointIp}:${this.port}`;
  }

  addressOf(machine: Machine): string {
    return `${machine.ip}:${this.port}`;
  }

  machine(nameOrIp: string): Machine {
    const found = this.findMachine(nameOrIp);
    if (!found) throw new Error(`no machine ${nameOrIp}`);
    return found;
  }

  /** talosconfig YAML for the admin client, endpoint = the VIP. */
  talosconfig(contextName = this.clusterName): string {
    const b64 = (text: string) => Buffer.from(text).toString('base64');
    return toYaml({
      context: contextName,
      contexts: {
        [contextName]: {
          endpoints: [this.endpoint],
          nodes: this.machines.map((m) => m.ip),
          ca: b64(this.ca.cert),
          crt: b64(this.clientCert.cert),
          key: b64(this.clientCert.key),
        },
      },
    });
  }

  /** Machine config as `talosctl gen config` would shape it (trimmed). */
  machineConfig(role: Role, hostname?: string, extra: Record<string, unknown> = {}): string {
    return toYaml({
      version: 'v1alpha1',
      debug: false,
      persist: true,
      machine: {
        type: role,
        token: 'sim.token',
        ...(hostname ? { network: { hostname } } : {}),
        install: { disk: '/dev/sda', image: `ghcr.io/siderolabs/installer:${this.tag}`, wipe: false },
        ...extra,
      },
      cluster: {
        clusterName: this.clusterName,
        controlPlane: { endpoint: `https://${this.endpointIp}:6443` },
        network: { dnsDomain: 'cluster.local', podSubnets: ['10.244.0.0/16'], serviceSubnets: ['10.96.0.0/12'] },
      },
    });
  }

  /** Turns a shut-down machine back on. */
  powerOn(nameOrIp: string): void {
    const machine = this.machine(nameOrIp);
    if (machine.up) return;
    machine.poweredOff = false;
    void this.boot(machine, 0);
  }

  // --- servers ---------------------------------------------------------------------------------

  private secureCredentials(): grpc.ServerCredentials {
    return grpc.ServerCredentials.createSsl(
      Buffer.from(this.ca.cert),
      [{ private_key: Buffer.from(this.serverCert.key), cert_chain: Buffer.from(this.serverCert.cert) }],
      true,
    );
  }

  private maintenanceCredentials(): grpc.ServerCredentials {
    return grpc.ServerCredentials.createSsl(null, [{ private_key: Buffer.from(this.maintenanceCert.key), cert_chain: Buffer.from(this.maintenanceCert.cert) }], false);
  }

  private async listen(machine: Machine): Promise<void> {
    if (this.stopped || this.machineServers.has(machine.ip)) return;
    const server = this.newServer({ kind: 'direct', machine });
    this.machineServers.set(machine.ip, server);
    const credentials = machine.maintenance ? this.maintenanceCredentials() : this.secureCredentials();
    try {
      await bind(server, `${machine.ip}:${this.port}`, credentials);
    } catch (error) {
      // Shut down while binding (the simulator stopped, or the machine went down again): nothing to serve.
      if (this.stopped || this.machineServers.get(machine.ip) !== server) return;
      throw error;
    }
  }

  private unlisten(machine: Machine): void {
    const server = this.machineServers.get(machine.ip);
    this.machineServers.delete(machine.ip);
    server?.forceShutdown();
  }

  private async closeServers(): Promise<void> {
    this.endpointServer?.forceShutdown();
    this.endpointServer = undefined;
    for (const server of this.machineServers.values()) server.forceShutdown();
    this.machineServers.clear();
  }

  private newServer(via: Via): grpc.Server {
    const server = new grpc.Server();
    for (const serviceName of ['machine.MachineService', 'cluster.ClusterService']) {
      const definition: Record<string, grpc.MethodDefinition<any, any>> = {};
      const implementation: grpc.UntypedServiceImplementation = {};
      for (const info of serviceMethods(serviceName)) {
        definition[info.name] = {
          path: info.path,
          requestStream: info.requestStream,
          responseStream: info.responseStream,
          requestSerialize: (value: object) => encode(info.requestType, value),
          requestDeserialize: (bytes: Buffer) => decode(info.requestType, bytes),
          responseSerialize: (value: object) => encode(info.responseType, value),
          responseDeserialize: (bytes: Buffer) => decode(info.responseType, bytes),
        };
        implementation[info.name] = info.requestStream
          ? (call: grpc.ServerReadableStream<any, any>, callback: grpc.sendUnaryData<any>) => void this.handleUpload(info, call, callback, via)
          : info.responseStream
            ? (call: grpc.ServerWritableStream<any, any>) => void this.handleStream(info, call, via)
            : (call: grpc.ServerUnaryCall<any, any>, callback: grpc.sendUnaryData<any>) => void this.handleUnary(info, call, callback, via);
      }
      server.addService(definition as grpc.ServiceDefinition, implementation);
    }
    return server;
  }

  private findMachine(name: string): Machine | undefined {
    return this.machines.find((m) => m.ip === name || m.hostname === name);
  }

  /** Which machine a call reaches, or the error apid would answer. */
  private route(info: MethodInfo, call: { metadata: grpc.Metadata }, via: Via): Machine {
    const nodeValue = call.metadata.get('node')[0];
    const node = nodeValue === undefined ? undefined : String(nodeValue);
    this.calls.push({ method: info.name, node, via: via.kind === 'endpoint' ? this.endpoint : this.addressOf(via.machine) });
    if (via.kind === 'direct') {
      const machine = via.machine;
      if (machine.maintenance) {
        if (!MAINTENANCE_METHODS.has(info.name)) throw new SimError(grpc.status.UNIMPLEMENTED, 'API is not implemented in maintenance mode');
        return machine;
      }
      if (!node || node === machine.ip || node === machine.hostname) return machine;
      return this.proxyTarget(node);
    }
    if (node) return this.proxyTarget(node);
    const self = this.machines.find((m) => m.up && !m.maintenance && m.role === 'controlplane');
    if (!self) throw new SimError(grpc.status.UNAVAILABLE, 'no control plane node is running behind the endpoint');
    return self;
  }

  private proxyTarget(node: string): Machine {
    const target = this.findMachine(node);
    const dial = `dial tcp ${node.includes(':') ? node : `${node}:50000`}`;
    if (!target) throw new SimError(grpc.status.UNAVAILABLE, `connection error: desc = "transport: Error while dialing: ${dial}: connect: no route to host"`);
    if (!target.up) throw new SimError(grpc.status.UNAVAILABLE, `connection error: desc = "transport: Error while dialing: ${dial}: connect: connection refused"`);
    if (target.maintenance) {
      throw new SimError(grpc.status.UNAVAILABLE, `connection error: desc = "transport: authentication handshake failed: tls: failed to verify certificate: x509: certificate signed by unknown authority" (${node} is in maintenance mode)`);
    }
    return target;
  }

  private async handleUnary(info: MethodInfo, call: grpc.ServerUnaryCall<any, any>, callback: grpc.sendUnaryData<any>, via: Via): Promise<void> {
    try {
      const machine = this.route(info, call, via);
      const handler = (this as unknown as Record<string, (ctx: Ctx) => Promise<Record<string, unknown>>>)[`rpc${info.name}`];
      if (!handler) throw new SimError(grpc.status.UNIMPLEMENTED, `method ${info.name} not implemented`);
      const reply = await handler.call(this, { machine, request: call.request, via, call });
      callback(null, reply);
    } catch (error) {
      callback(toStatus(error));
    }
  }

  /** A client stream of common.Data (EtcdRecover): the chunks are collected (bounded), then the handler answers once. */
  private async handleUpload(info: MethodInfo, call: grpc.ServerReadableStream<any, any>, callback: grpc.sendUnaryData<any>, via: Via): Promise<void> {
    try {
      const machine = this.route(info, call, via);
      const chunks: Buffer[] = [];
      let total = 0;
      for await (const message of call as AsyncIterable<{ bytes?: Buffer }>) {
        total += message.bytes?.length ?? 0;
        if (total > UPLOAD_LIMIT) throw new SimError(grpc.status.RESOURCE_EXHAUSTED, `upload exceeds ${UPLOAD_LIMIT} bytes`);
        if (message.bytes?.length) chunks.push(message.bytes);
      }
      const handler = (this as unknown as Record<string, (ctx: Ctx, data: Buffer) => Promise<Record<string, unknown>>>)[`rpc${info.name}`];
      if (!handler) throw new SimError(grpc.status.UNIMPLEMENTED, `method ${info.name} not implemented`);
      callback(null, await handler.call(this, { machine, request: {}, via, call }, Buffer.concat(chunks, total)));
    } catch (error) {
      callback(toStatus(error));
    }
  }

  private async handleStream(info: MethodInfo, call: grpc.ServerWritableStream<any, any>, via: Via): Promise<void> {
    let finished = false;
    const closeFns: Array<() => void> = [];
    let machine: Machine | undefined;
    const end = (error?: unknown) => {
      if (finished) return;
      finished = true;
      if (machine) machine.openCalls.delete(drop);
      for (const fn of closeFns) fn();
      if (error) call.emit('error', toStatus(error));
      else call.end();
    };
    const drop = (reason: string) => end(new SimError(grpc.status.UNAVAILABLE, `connection closed: ${reason}`));
    call.on('cancelled', () => {
      finished = true;
      if (machine) machine.openCalls.delete(drop);
      for (const fn of closeFns) fn();
    });
    try {
      machine = this.route(info, call, via);
      machine.openCalls.add(drop);
      const sink: StreamSink = {
        write: (message) => (finished ? false : call.write(message)),
        closed: () => finished,
        onClose: (fn) => closeFns.push(fn),
      };
      const handler = (this as unknown as Record<string, (ctx: Ctx, sink: StreamSink) => Promise<void>>)[`rpc${info.name}`];
      if (!handler) throw new SimError(grpc.status.UNIMPLEMENTED, `method ${info.name} not implemented`);
      await handler.call(this, { machine, request: call.request, via, call }, sink);
      end();
    } catch (error) {
      end(error);
    }
  }

  // --- machine lifecycle -------------------------------------------------------------------------

  private meta(machine: Machine): { hostname: string } {
    return { hostname: machine.hostname };
  }

  /** Action → (stopMs) down → (downMs) boot. `after` runs while down (apply config, upgrade). */
  private restart(machine: Machine, actorId: string, sequence: string, stage: string, options: { powerOff?: boolean; whileDown?: () => void; tasks?: string[] } = {}): void {
    machine.emitEvent(actorId, 'machine.SequenceEvent', { sequence, action: 'START' });
    machine.status(actorId, stage, false);
    for (const task of options.tasks ?? []) {
      machine.emitEvent(actorId, 'machine.TaskEvent', { task, action: 'START' });
      machine.emitEvent(actorId, 'machine.TaskEvent', { task, action: 'STOP' });
    }
    machine.emitEvent(actorId, 'machine.PhaseEvent', { phase: 'stopEverything', action: 'START' });
    machine.emitEvent(actorId, 'machine.TaskEvent', { task: 'stopAllServices', action: 'START' });
    machine.later(this.timing.stopMs, () => {
      machine.emitEvent(actorId, 'machine.TaskEvent', { task: 'stopAllServices', action: 'STOP' });
      for (const id of machine.services.keys()) machine.setService(actorId, id, 'Finished', false, 'Service finished successfully');
      machine.up = false;
      machine.ready = false;
      machine.dropCalls(`${machine.hostname} is going down (${sequence})`);
      this.unlisten(machine);
      options.whileDown?.();
      if (options.powerOff) {
        machine.poweredOff = true;
        return;
      }
      machine.later(this.timing.downMs, () => void this.boot(machine, this.timing.bootMs));
    });
  }

  private async boot(machine: Machine, bootMs: number): Promise<void> {
    if (this.stopped) return;
    machine.bootId = randomUUID();
    machine.events = [];
    machine.services.clear();
    machine.up = true;
    if (machine.stagedConfig) {
      machine.config = machine.stagedConfig;
      machine.stagedConfig = undefined;
    }
    if (machine.maintenance) {
      machine.status('', 'MAINTENANCE', false);
      await this.listen(machine);
      return;
    }
    machine.status('', 'BOOTING', false, [{ name: 'time', reason: 'time is not in sync' }]);
    for (const id of ['apid', 'trustd', 'machined', 'containerd', 'cri']) machine.setService('', id, 'Running', true, 'Health check successful');
    await this.listen(machine);
    machine.later(bootMs, () => {
      if (!machine.up) return;
      machine.setService('', 'kubelet', 'Running', true, 'Health check successful');
      if (machine.role === 'controlplane') {
        if (this.bootstrapped) this.joinEtcd(machine);
        else machine.setService('', 'etcd', 'Preparing', false, 'Running pre state');
      }
      machine.status('', 'RUNNING', false, [{ name: 'nodeReady', reason: 'node is not ready' }]);
      machine.later(Math.max(20, Math.floor(bootMs / 3)), () => {
        if (machine.up) machine.status('', 'RUNNING', true);
      });
    });
  }

  private joinEtcd(machine: Machine): void {
    machine.setService('', 'etcd', 'Running', true, 'Health check successful');
    if (!this.etcdMembers.some((m) => m.ip === machine.ip)) {
      this.etcdMembers.push({ id: BigInt.asUintN(64, BigInt(`0x${randomBytes(8).toString('hex')}`)).toString(), hostname: machine.hostname, ip: machine.ip });
    }
  }

  private requireControlPlane(machine: Machine, what: string): void {
    if (machine.role !== 'controlplane') throw new SimError(grpc.status.FAILED_PRECONDITION, `${what} is only available on control plane nodes`);
  }

  private requireEtcd(machine: Machine): void {
    this.requireControlPlane(machine, 'etcd');
    if (!this.bootstrapped || machine.services.get('etcd')?.state !== 'Running') {
      throw new SimError(grpc.status.FAILED_PRECONDITION, 'etcd is not running: the cluster is not bootstrapped yet');
    }
  }

  // --- RPCs ------------------------------------------------------------------------------------

  async rpcVersion({ machine, via }: Ctx): Promise<Record<string, unknown>> {
    const maintenance = via.kind === 'direct' && machine.maintenance;
    return {
      messages: [
        {
          metadata: this.meta(machine),
          version: { tag: machine.tag, sha: createHash('sha1').update(machine.tag).digest('hex').slice(0, 8), built: '2025-01-01T00:00:00Z', goVersion: 'go1.23.4', os: 'linux', arch: 'amd64' },
          platform: { name: 'metal', mode: maintenance ? 'maintenance' : 'metal' },
          features: { rbac: true },
        },
      ],
    };
  }

  async rpcApplyConfiguration({ machine, request }: Ctx): Promise<Record<string, unknown>> {
    const text = Buffer.from(request.data ?? []).toString('utf8');
    const parsed = parseMachineConfig(text);
    if (!parsed.config) throw new SimError(grpc.status.INVALID_ARGUMENT, parsed.error ?? 'invalid configuration');
    const config = parsed.config;
    const dryRun = request.dryRun === true;
    const mode = String(request.mode ?? 'REBOOT');
    const reply = (chosen: string, details: string) => ({
      messages: [{ metadata: this.meta(machine), warnings: parsed.warnings, mode: chosen, modeDetails: details }],
    });

    if (machine.maintenance) {
      if (dryRun) return reply('REBOOT', `Dry run summary:\nNode is running in maintenance mode and does not have a config yet.\nApplied configuration with a reboot (skipped in dry-run).`);
      if (mode === 'NO_REBOOT' || mode === 'STAGED' || mode === 'TRY') {
        throw new SimError(grpc.status.FAILED_PRECONDITION, `apply configuration mode ${mode} is not supported in maintenance mode`);
      }
      const actorId = randomUUID();
      this.restart(machine, actorId, 'install', 'INSTALLING', {
        whileDown: () => {
          machine.config = text;
          machine.role = config.type;
          if (config.hostname) machine.hostname = config.hostname;
          if (config.clusterName) this.clusterName = config.clusterName;
        },
      });
      return reply('REBOOT', 'Applied configuration with a reboot');
    }

    const current = parseMachineConfig(machine.config ?? '').config;
    if (current && current.type !== config.type) {
      throw new SimError(grpc.status.INVALID_ARGUMENT, `1 error occurred:\n\t* machine type can't be changed from "${current.type}" to "${config.type}"\n\n`);
    }
    const needsReboot = JSON.stringify(current?.document.machine?.install ?? {}) !== JSON.stringify(config.document.machine?.install ?? {});
    let chosen = mode;
    if (mode === 'AUTO') chosen = needsReboot ? 'REBOOT' : 'NO_REBOOT';
    if (chosen === 'NO_REBOOT' && needsReboot) {
      throw new SimError(grpc.status.FAILED_PRECONDITION, 'apply configuration failed: the following fields can\'t be changed without a reboot: machine.install');
    }
    const details: Record<string, string> = {
      REBOOT: 'Applied configuration with a reboot',
      NO_REBOOT: 'Applied configuration without a reboot',
      STAGED: 'Staged configuration to be applied after a reboot',
      TRY: `Applied configuration in a try mode for ${durationSeconds(request.tryModeTimeout) || 60}s`,
    };
    const summary = details[chosen] ?? details.REBOOT!;
    if (dryRun) {
      const diff = lineDiff(machine.config ?? '', text);
      return reply(chosen, `Dry run summary:\n${summary} (skipped in dry-run).\n\nConfig diff:\n\n${diff || 'No changes.'}`);
    }
    if (chosen === 'STAGED') {
      machine.stagedConfig = text;
    } else if (chosen === 'REBOOT') {
      this.restart(machine, randomUUID(), 'reboot', 'REBOOTING', { whileDown: () => (machine.config = text) });
    } else {
      const previous = machine.config;
      machine.config = text;
      if (config.hostname) machine.hostname = config.hostname;
      if (chosen === 'TRY') {
        const seconds = durationSeconds(request.tryModeTimeout) || 60;
        machine.later(seconds * 1000, () => {
          if (machine.config === text) machine.config = previous;
        });
      }
    }
    return reply(chosen, summary);
  }

  /** Keeps an uploaded snapshot for Bootstrap(recover_etcd); refused while this node's etcd runs. */
  async rpcEtcdRecover({ machine }: Ctx, snapshot: Buffer): Promise<Record<string, unknown>> {
    this.requireControlPlane(machine, 'etcd recovery');
    if (machine.services.get('etcd')?.state === 'Running') {
      throw new SimError(grpc.status.FAILED_PRECONDITION, 'etcd is running: a snapshot can only be recovered on a node whose etcd has not started');
    }
    if (snapshot.length === 0) throw new SimError(grpc.status.INVALID_ARGUMENT, 'the uploaded etcd snapshot is empty');
    this.recoverySnapshots.set(machine.ip, snapshot);
    return { messages: [{ metadata: this.meta(machine) }] };
  }

  async rpcBootstrap({ machine, request }: Ctx): Promise<Record<string, unknown>> {
    this.requireControlPlane(machine, 'bootstrap');
    if (this.bootstrapped) throw new SimError(grpc.status.ALREADY_EXISTS, 'etcd data directory is not empty');
    if (!machine.up || machine.stage !== 'RUNNING') throw new SimError(grpc.status.FAILED_PRECONDITION, 'bootstrap is not available yet: the machine is still booting (time is not in sync)');
    if (request.recoverEtcd) {
      const snapshot = this.recoverySnapshots.get(machine.ip);
      if (!snapshot) throw new SimError(grpc.status.FAILED_PRECONDITION, 'etcd recovery snapshot not found: upload one with EtcdRecover first');
      // As on Talos, the answer comes before etcd starts: a snapshot that fails its check shows as a failed etcd service.
      const intact = snapshot.length > 32 && createHash('sha256').update(snapshot.subarray(0, -32)).digest().equals(snapshot.subarray(-32));
      if (!intact && !request.recoverSkipHashCheck) {
        machine.setService('', 'etcd', 'Failed', false, 'failed to recover etcd: snapshot file integrity check failed: sha256 mismatch');
        return { messages: [{ metadata: this.meta(machine) }] };
      }
      this.recoveredFrom = createHash('sha256').update(snapshot).digest('hex');
      this.recoverySnapshots.delete(machine.ip);
    }
    this.bootstrapped = true;
    if (request.recoverEtcd) {
      // etcd restores the snapshot before it runs: it reports running healthy a moment after the answer.
      machine.setService('', 'etcd', 'Preparing', false, 'Restoring the etcd snapshot');
      machine.later(this.timing.stopMs, () => machine.up && this.joinEtcd(machine));
    } else {
      this.joinEtcd(machine);
    }
    for (const other of this.machines) {
      if (other !== machine && other.up && other.role === 'controlplane' && other.stage === 'RUNNING') {
        other.later(this.timing.bootMs, () => other.up && this.joinEtcd(other));
      }
    }
    return { messages: [{ metadata: this.meta(machine) }] };
  }

  async rpcReboot({ machine, request }: Ctx): Promise<Record<string, unknown>> {
    const actorId = randomUUID();
    this.restart(machine, actorId, 'reboot', 'REBOOTING');
    void request;
    return { messages: [{ metadata: this.meta(machine), actorId }] };
  }

  async rpcShutdown({ machine }: Ctx): Promise<Record<string, unknown>> {
    const actorId = randomUUID();
    this.restart(machine, actorId, 'shutdown', 'SHUTTING_DOWN', { powerOff: true });
    return { messages: [{ metadata: this.meta(machine), actorId }] };
  }

  async rpcUpgrade({ machine, request }: Ctx): Promise<Record<string, unknown>> {
    const image = String(request.image ?? '');
    const tag = /:([^:/@]+)$/.exec(image)?.[1];
    if (!image || !tag) throw new SimError(grpc.status.INVALID_ARGUMENT, `invalid installer image reference "${image}"`);
    if (image.includes('does-not-exist')) throw new SimError(grpc.status.NOT_FOUND, `error validating installer image "${image}": not found`);
    if (this.bootstrapped && machine.role === 'controlplane' && !request.force && this.etcdMembers.length > 1 && this.machines.some((m) => m.role === 'controlplane' && !m.up)) {
      throw new SimError(grpc.status.FAILED_PRECONDITION, 'etcd quorum check failed: another control plane node is down (use force to override)');
    }
    const actorId = randomUUID();
    this.restart(machine, actorId, 'upgrade', 'UPGRADING', { whileDown: () => (machine.tag = tag) });
    return { messages: [{ metadata: this.meta(machine), ack: 'Upgrade request received', actorId }] };
  }

  async rpcReset({ machine, request }: Ctx): Promise<Record<string, unknown>> {
    const actorId = randomUUID();
    const graceful = request.graceful !== false;
    if (graceful && machine.role === 'controlplane' && this.bootstrapped && this.etcdMembers.length <= 1 && this.etcdMembers.some((m) => m.ip === machine.ip)) {
      throw new SimError(grpc.status.FAILED_PRECONDITION, 'etcd: 1 members, refusing to leave the cluster gracefully: the last member would lose the data (use graceful=false)');
    }
    const member = machine.role === 'controlplane' && this.etcdMembers.some((m) => m.ip === machine.ip);
    const tasks = graceful ? ['cordonAndDrainNode', ...(member ? ['leaveEtcd'] : [])] : [];
    tasks.push(request.mode === 'USER_DISKS' ? 'resetUserDisks' : 'resetSystemDisk');
    // As on Talos: the node leaves etcd and loses its configuration (and so its hostname); with
    // reboot it comes back in maintenance mode with a new boot id, otherwise it powers off. When
    // the last member left, the cluster has no etcd: it can be bootstrapped (or recovered) again.
    this.restart(machine, actorId, 'reset', 'RESETTING', {
      powerOff: request.reboot !== true,
      tasks,
      whileDown: () => {
        this.etcdMembers = this.etcdMembers.filter((m) => m.ip !== machine.ip);
        if (member && this.etcdMembers.length === 0) this.bootstrapped = false;
        machine.config = undefined;
        machine.stagedConfig = undefined;
        machine.role = undefined;
        machine.hostname = machine.defaultHostname;
      },
    });
    return { messages: [{ metadata: this.meta(machine), actorId }] };
  }

  async rpcServiceList({ machine }: Ctx): Promise<Record<string, unknown>> {
    const services = [...machine.services.values()].map((s) => ({
      id: s.id,
      state: s.state,
      events: { events: [{ msg: s.message, state: s.state }] },
      health: { unknown: false, healthy: s.healthy, lastMessage: s.message },
    }));
    return { messages: [{ metadata: this.meta(machine), services }] };
  }

  async rpcServiceRestart({ machine, request }: Ctx): Promise<Record<string, unknown>> {
    const id = String(request.id ?? '');
    const service = machine.services.get(id);
    if (!service) throw new SimError(grpc.status.NOT_FOUND, `service "${id}" not found`);
    if (id === 'apid' || id === 'machined') throw new SimError(grpc.status.INVALID_ARGUMENT, `service "${id}" doesn't support restart operation via API`);
    machine.setService('', id, 'Stopping', false, 'Service is stopping');
    machine.later(50, () => machine.setService('', id, 'Running', true, 'Health check successful'));
    return { messages: [{ metadata: this.meta(machine), resp: `Service "${id}" restarted` }] };
  }

  async rpcEtcdMemberList({ machine }: Ctx): Promise<Record<string, unknown>> {
    this.requireEtcd(machine);
    const members = this.etcdMembers.map((m) => ({
      id: m.id,
      hostname: this.findMachine(m.ip)?.hostname ?? m.hostname,
      peerUrls: [`https://${m.ip}:2380`],
      clientUrls: [`https://${m.ip}:2379`],
      isLearner: false,
    }));
    return { messages: [{ metadata: this.meta(machine), members }] };
  }

  async rpcEtcdRemoveMemberByID({ machine, request }: Ctx): Promise<Record<string, unknown>> {
    this.requireEtcd(machine);
    const id = String(request.memberId ?? '0');
    if (!this.etcdMembers.some((m) => m.id === id)) throw new SimError(grpc.status.NOT_FOUND, 'etcdserver: member not found');
    this.etcdMembers = this.etcdMembers.filter((m) => m.id !== id);
    return { messages: [{ metadata: this.meta(machine) }] };
  }

  async rpcEtcdSnapshot({ machine }: Ctx, sink: StreamSink): Promise<void> {
    this.requireEtcd(machine);
    const body = Buffer.concat([Buffer.from(`etcd-sim-snapshot cluster=${this.clusterName} members=${this.etcdMembers.length}\n`), randomBytes(96 * 1024)]);
    // etcd appends the sha256 of the database to a snapshot; restore checks it.
    const snapshot = Buffer.concat([body, createHash('sha256').update(body).digest()]);
    for (let offset = 0; offset < snapshot.length && !sink.closed(); offset += 16 * 1024) {
      sink.write({ metadata: this.meta(machine), bytes: snapshot.subarray(offset, offset + 16 * 1024) });
    }
  }

  async rpcKubeconfig({ machine }: Ctx, sink: StreamSink): Promise<void> {
    this.requireControlPlane(machine, 'kubeconfig');
    if (!this.bootstrapped) throw new SimError(grpc.status.FAILED_PRECONDITION, 'kubeconfig is not available: the cluster is not bootstrapped yet');
    const access = this.kubernetes ?? { server: `https://${this.endpointIp}:6443`, ca: this.ca.cert, cert: this.clientCert.cert, key: this.clientCert.key };
    const b64 = (text: string) => Buffer.from(text).toString('base64');
    const name = this.clusterName;
    const kubeconfig = toYaml({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name, cluster: { server: access.server, 'certificate-authority-data': b64(access.ca) } }],
      users: [{ name: `admin@${name}`, user: { 'client-certificate-data': b64(access.cert), 'client-key-data': b64(access.key) } }],
      contexts: [{ name: `admin@${name}`, context: { cluster: name, namespace: 'default', user: `admin@${name}` } }],
      'current-context': `admin@${name}`,
    });
    const archive = tarGz([{ name: 'kubeconfig', content: kubeconfig }]);
    for (let offset = 0; offset < archive.length; offset += 1024) sink.write({ metadata: this.meta(machine), bytes: archive.subarray(offset, offset + 1024) });
  }

  async rpcRead({ machine, request }: Ctx, sink: StreamSink): Promise<void> {
    const path = String(request.path ?? '');
    if (path === '/proc/sys/kernel/random/boot_id') {
      sink.write({ metadata: this.meta(machine), bytes: Buffer.from(`${machine.bootId}\n`) });
      return;
    }
    if (path === '/etc/os-release') {
      sink.write({ metadata: this.meta(machine), bytes: Buffer.from(`NAME="Talos"\nVERSION_ID=${machine.tag}\n`) });
      return;
    }
    throw new SimError(grpc.status.NOT_FOUND, `open ${path}: no such file or directory`);
  }

  async rpcEvents({ machine, request }: Ctx, sink: StreamSink): Promise<void> {
    const tail = Number(request.tailEvents ?? 0);
    const actorFilter = String(request.withActorId ?? '');
    const matches = (event: SimEvent) => !actorFilter || event.actorId === actorFilter;
    const backlog = tail < 0 ? machine.events : tail === 0 ? [] : machine.events.slice(-tail);
    for (const event of backlog) if (matches(event)) sink.write(eventMessage(machine, event));
    await new Promise<void>((resolve) => {
      const onEvent = (event: SimEvent) => {
        if (matches(event)) sink.write(eventMessage(machine, event));
      };
      machine.on('event', onEvent);
      sink.onClose(() => {
        machine.off('event', onEvent);
        resolve();
      });
    });
  }

  async rpcHealthCheck({ machine, request, call }: Ctx, sink: StreamSink): Promise<void> {
    const waitMs = Math.max(100, (durationSeconds(request.waitTimeout) || 20) * 1000);
    const deadline = Date.now() + waitMs;
    const info = request.clusterInfo ?? {};
    const named = [...(info.controlPlaneNodes ?? []), ...(info.workerNodes ?? [])] as string[];
    const nodes = named.length ? named.map((n) => this.findMachine(n)) : this.machines.filter((m) => !m.maintenance);
    const controlPlanes = () => this.machines.filter((m) => m.role === 'controlplane');
    const checks: Array<[string, () => string | undefined]> = [
      ['waiting for etcd to be healthy', () => (this.bootstrapped ? undefined : 'etcd is not bootstrapped')],
      ['waiting for etcd members to be consistent across nodes', () => {
        const missing = controlPlanes().filter((m) => !this.etcdMembers.some((e) => e.ip === m.ip));
        return missing.length ? `etcd members do not include ${missing.map((m) => m.hostname).join(', ')}` : undefined;
      }],
      ['waiting for etcd members to be control plane nodes', () => undefined],
      ['waiting for apid to be ready', () => {
        const bad = nodes.find((m) => !m || !m.up);
        return bad === undefined ? undefined : `${bad?.ip ?? 'unknown node'}: connection refused`;
      }],
      ['waiting for all nodes to finish boot sequence', () => {
        const bad = nodes.find((m) => m && m.stage !== 'RUNNING');
        return bad ? `${bad.ip}: stage ${bad.stage}` : undefined;
      }],
      ['waiting for kubelet to be healthy', () => {
        const bad = nodes.find((m) => m && m.services.get('kubelet')?.healthy !== true);
        return bad ? `${bad.ip}: kubelet is not healthy` : undefined;
      }],
      ['waiting for all k8s nodes to report ready', () => {
        const bad = nodes.find((m) => m && !m.ready);
        return bad ? `node ${bad.hostname} is not ready` : undefined;
      }],
    ];
    for (const [name, check] of checks) {
      sink.write({ metadata: this.meta(machine), message: name });
      let lastReason: string | undefined;
      for (let round = 0; ; round++) {
        if (sink.closed() || call.cancelled) return;
        const reason = check();
        if (!reason) break;
        if (reason !== lastReason) sink.write({ metadata: this.meta(machine), message: `${name}: ${reason}` });
        lastReason = reason;
        if (Date.now() >= deadline || round > 100_000) throw new SimError(grpc.status.DEADLINE_EXCEEDED, `${name}: ${reason}: context deadline exceeded`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      sink.write({ metadata: this.meta(machine), message: `${name}: OK` });
    }
  }
}

function durationSeconds(duration: { seconds?: string | number; nanos?: number } | null | undefined): number {
  if (!duration) return 0;
  return Number(duration.seconds ?? 0) + Number(duration.nanos ?? 0) / 1e9;
}

function toStatus(error: unknown): Partial<grpc.StatusObject> & Error {
  const code = error instanceof SimError ? error.code : grpc.status.INTERNAL;
  const message = error instanceof Error ? error.message : String(error);
  return Object.assign(new Error(message), { code, details: message, metadata: new grpc.Metadata() });
}

async function bind(server: grpc.Server, address: string, credentials: grpc.ServerCredentials): Promise<number> {
  return await new Promise<number>((resolve, reject) => {
    server.bindAsync(address, credentials, (error, port) => (error ? reject(error) : resolve(port)));
  });
}
