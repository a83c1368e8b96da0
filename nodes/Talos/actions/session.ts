// Per-execution connections of the Talos node: Talos clients (one per endpoint, closed when the
// execution's items are done), fresh clients for reboot waits, and the Kubernetes client (from the
// Kubernetes credential or from a Talos control plane's kubeconfig).

import { sleep, type IExecuteFunctions } from 'n8n-workflow';
import { TalosClient, normalizeEndpoint, type CallOptions } from '../transport/client.ts';
import { resolveTalosCredential, type ResolvedTalos, type TalosCredentialData } from '../transport/talosconfig.ts';
import { KubeClient, parseKubeconfig } from '../transport/kubernetes.ts';
import { readTarGz } from '../transport/tar.ts';
import { TalosApiError } from '../transport/errors.ts';
import { stillBooting, toNodeError } from './errors.ts';

export interface TalosTarget {
  client: TalosClient;
  call: CallOptions;
  resolved: ResolvedTalos;
}

/** An item's Wait (`waitTimeout`) and Retry Interval (`retryInterval`) settings, from when they were read. */
export interface BootWait {
  waitMs: number;
  retryMs: number;
  started: number;
}

export class Session {
  private readonly ctx: IExecuteFunctions;
  private readonly clients = new Map<string, TalosClient>();
  private readonly kube = new Map<string, KubeClient>();
  private resolved: ResolvedTalos | undefined;

  constructor(ctx: IExecuteFunctions) {
    this.ctx = ctx;
  }

  async credential(): Promise<ResolvedTalos> {
    if (!this.resolved) this.resolved = resolveTalosCredential((await this.ctx.getCredentials('talosApi')) as TalosCredentialData);
    return this.resolved;
  }

  node(itemIndex: number): string | undefined {
    const node = String(this.ctx.getNodeParameter('node', itemIndex, '') ?? '').trim();
    return node || undefined;
  }

  timeoutMs(itemIndex: number): number {
    return Math.max(1, Number(this.ctx.getNodeParameter('timeout', itemIndex, 30))) * 1000;
  }

  /**
   * The client and call options for an item. In maintenance mode the Node field is the address to
   * dial (a node without configuration is reached directly, like `talosctl --insecure -n`).
   */
  async talos(itemIndex: number): Promise<TalosTarget> {
    const resolved = await this.credential();
    const node = this.node(itemIndex);
    const connection = resolved.insecure && node ? { ...resolved, endpoints: [node] } : resolved;
    if (!connection.endpoints.length) throw new Error('No endpoint: set the Node field (maintenance mode) or the credential\'s endpoints');
    const key = connection.endpoints.join(',');
    let client = this.clients.get(key);
    if (!client) {
      client = new TalosClient(connection);
      this.clients.set(key, client);
    }
    return { client, resolved, call: { node: resolved.insecure ? undefined : node, timeoutMs: this.timeoutMs(itemIndex) } };
  }

  /** A factory of new clients for the same target (reconnecting while a node reboots). */
  async connector(itemIndex: number): Promise<() => TalosClient> {
    const resolved = await this.credential();
    const node = this.node(itemIndex);
    const connection = resolved.insecure && node ? { ...resolved, endpoints: [node] } : resolved;
    return () => new TalosClient(connection);
  }

  bootWait(itemIndex: number, defaultWaitSeconds: number): BootWait {
    return {
      waitMs: Math.max(0, Number(this.ctx.getNodeParameter('waitTimeout', itemIndex, defaultWaitSeconds)) * 1000),
      retryMs: Math.max(50, Number(this.ctx.getNodeParameter('retryInterval', itemIndex, 5)) * 1000),
      started: Date.now(),
    };
  }

  /**
   * Runs `attempt` on the item's client, and again on a fresh one (new channel) each retry interval
   * while the node is still installing or booting (stillBooting), within the wait. An AlreadyExists
   * answer (Bootstrap once the cluster's etcd exists) goes to `alreadyExists`; other failures are
   * thrown. Returns the attempt's result and how many attempts it took.
   */
  async whileBooting<T>(
    itemIndex: number,
    wait: BootWait,
    attempt: (client: TalosClient, call: CallOptions) => Promise<T>,
    alreadyExists: (error: TalosApiError) => T,
  ): Promise<{ value: T; attempts: number }> {
    const { client, call } = await this.talos(itemIndex);
    const maxAttempts = Math.ceil(wait.waitMs / wait.retryMs) + 1;
    for (let attempts = 1; ; attempts++) {
      try {
        const fresh = attempts === 1 ? client : (await this.connector(itemIndex))();
        try {
          return { value: await attempt(fresh, call), attempts };
        } finally {
          if (fresh !== client) fresh.close();
        }
      } catch (error) {
        if (error instanceof TalosApiError && error.codeName === 'ALREADY_EXISTS') return { value: alreadyExists(error), attempts };
        if (!stillBooting(error) || attempts >= maxAttempts || Date.now() - wait.started + wait.retryMs > wait.waitMs) throw toNodeError(this.ctx.getNode(), error, itemIndex);
      }
      await sleep(wait.retryMs);
    }
  }

  /**
   * A factory of insecure clients (no client certificate, like `talosctl --insecure`) to the node's
   * own address, for a node that came back without configuration (reset with reboot). The address
   * is the Node field (empty: the endpoint itself); without a port it gets the endpoint's port, as
   * every Talos node serves its API on the same port (50000).
   */
  async maintenanceConnector(itemIndex: number): Promise<{ connect: () => TalosClient; address: string }> {
    const resolved = await this.credential();
    const node = this.node(itemIndex);
    const endpoint = resolved.endpoints[0] ? normalizeEndpoint(resolved.endpoints[0]) : undefined;
    let address: string;
    if (!node) {
      if (!endpoint) throw new Error('No endpoint: set the Node field or the credential\'s endpoints');
      address = endpoint;
    } else {
      const hasPort = /^[^:]+:\d+$|^\[[^\]]+\]:\d+$/.test(node);
      const port = endpoint ? /:(\d+)$/.exec(endpoint)?.[1] : undefined;
      address = normalizeEndpoint(node);
      if (!hasPort && !resolved.insecure && port) address = address.replace(/:\d+$/, `:${port}`);
    }
    return { connect: () => new TalosClient({ endpoints: [address], insecure: true }), address };
  }

  async kubernetes(itemIndex: number): Promise<KubeClient> {
    const source = this.ctx.getNodeParameter('kubeconfigSource', itemIndex, 'talos') as string;
    const send = (options: Parameters<IExecuteFunctions['helpers']['httpRequest']>[0]) => this.ctx.helpers.httpRequest(options);
    if (source === 'credential') {
      let client = this.kube.get('credential');
      if (!client) {
        const credentials = await this.ctx.getCredentials('kubernetesApi');
        client = new KubeClient(parseKubeconfig(String(credentials.kubeconfig ?? ''), String(credentials.context ?? '')), send);
        this.kube.set('credential', client);
      }
      return client;
    }
    const node = this.node(itemIndex) ?? '';
    let client = this.kube.get(`talos:${node}`);
    if (!client) {
      const kubeconfig = await this.talosKubeconfig(itemIndex);
      client = new KubeClient(parseKubeconfig(kubeconfig.toString('utf8')), send);
      this.kube.set(`talos:${node}`, client);
    }
    return client;
  }

  /** The item's control plane's admin kubeconfig (Kubeconfig: a .tar.gz holding one file `kubeconfig`). */
  async talosKubeconfig(itemIndex: number): Promise<Buffer> {
    const { client, call } = await this.talos(itemIndex);
    const archive = await client.readAll('machine.MachineService', 'Kubeconfig', {}, call);
    const kubeconfig = readTarGz(archive).get('kubeconfig');
    if (!kubeconfig) throw new Error('The Kubeconfig archive from Talos holds no "kubeconfig" file');
    return kubeconfig;
  }

  close(): void {
    for (const client of this.clients.values()) client.close();
    this.clients.clear();
  }
}
