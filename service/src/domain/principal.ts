// Who is calling: the admin, or one contractor acting for itself.

export interface Principal {
  name: string;
  role: 'admin' | 'contractor';
}

export const isAdmin = (principal: Principal): boolean => principal.role === 'admin';

/** The hooks the domain calls on notable changes; the HTTP layer turns them into Prometheus metrics. */
export interface DomainObserver {
  handoffTransition(status: string): void;
  timeoutFired(kind: string): void;
  runFinished(workflowId: string, status: string, durationMs: number): void;
}

export const silentObserver: DomainObserver = {
  handoffTransition() {},
  timeoutFired() {},
  runFinished() {},
};

export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
