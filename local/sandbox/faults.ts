/**
 * Fault injection, latency and the request log. A fault matches a service and operation (`*` for any)
 * and fires `times` times (Infinity for a permanent error); it answers in the service's own protocol,
 * so the SDK sees exactly what AWS would send.
 */
import { AwsError } from './errors';
import { THROTTLING } from './quotas';

export interface FaultSpec {
  service: string;
  operation: string;
  /** Error code on the wire, e.g. `ThrottlingException`, `Throttling`, `InternalFailure`. */
  error: string;
  message?: string;
  status?: number;
  /** How many matching requests fail before the fault is spent. Omit for a permanent fault. */
  times?: number;
  /** Let this many matching requests through first (to hit, say, the second DescribeApplication of a run). */
  skip?: number;
  /** Only requests from this caller ARN (prefix match), e.g. an operator role's sessions. */
  caller?: string;
  /** Only requests whose input (as JSON) contains this text, e.g. `"RoleName":"MsfCmkKeyAdmin"`. */
  inputContains?: string;
  /**
   * Apply the operation, then answer with the error: the side effect happened but the caller never
   * learns it (a dropped response, a function that dies right after its call).
   */
  afterEffect?: boolean;
}

export interface RequestLogEntry {
  time: string;
  caller: string;
  service: string;
  operation: string;
  /** `OK`, or the error code returned. */
  outcome: string;
  status: number;
  durationMs: number;
  /** The error's message as the caller got it (an AccessDenied names the principal, action and resource). */
  message?: string;
}

const matches = (pattern: string, value: string) => pattern === '*' || pattern === value;

export class Faults {
  private faults: (FaultSpec & { remaining: number; skipped: number })[] = [];
  private latency = new Map<string, number>();
  readonly log: RequestLogEntry[] = [];

  inject(spec: FaultSpec): void {
    if (!spec.service || !spec.operation || !spec.error) {
      throw new Error('a fault needs service, operation and error');
    }
    this.faults.push({ ...spec, remaining: spec.times ?? Number.POSITIVE_INFINITY, skipped: 0 });
  }

  /** Fail the next `times` calls with the service's own throttling error, then pass. */
  throttle(service: string, operation: string, times = 2): void {
    this.inject({ service, operation, error: THROTTLING[service]?.code ?? 'ThrottlingException', message: 'Rate exceeded', status: 400, times });
  }

  clear(): void {
    this.faults = [];
    this.latency.clear();
  }

  /** Added latency in ms for a service and operation (`*` allowed). */
  setLatency(service: string, operation: string, ms: number): void {
    this.latency.set(`${service}:${operation}`, ms);
  }

  latencyFor(service: string, operation: string): number {
    return this.latency.get(`${service}:${operation}`) ?? this.latency.get(`${service}:*`) ?? this.latency.get('*:*') ?? 0;
  }

  /** Throws the first live fault that matches this request in this phase, consuming one use of it. */
  check(service: string, operation: string, caller: string, input: unknown = {}, phase: 'before' | 'after' = 'before'): void {
    const fault = this.faults.find(
      (f) =>
        f.remaining > 0 &&
        !!f.afterEffect === (phase === 'after') &&
        matches(f.service, service) &&
        matches(f.operation, operation) &&
        (!f.caller || caller.startsWith(f.caller)) &&
        (!f.inputContains || JSON.stringify(input).includes(f.inputContains)),
    );
    if (!fault) return;
    if (fault.skipped < (fault.skip ?? 0)) {
      fault.skipped += 1;
      return;
    }
    fault.remaining -= 1;
    throw new AwsError(fault.error, fault.message ?? `Injected fault ${fault.error}`, fault.status ?? (fault.error.startsWith('Internal') ? 500 : 400));
  }

  /** Faults still armed (for tests asserting a fault was consumed). */
  pending(): FaultSpec[] {
    // A permanent fault has no `times`, as when it was injected (JSON has no Infinity).
    return this.faults
      .filter((f) => f.remaining > 0)
      .map(({ remaining, skipped: _skipped, ...f }) => (Number.isFinite(remaining) ? { ...f, times: remaining } : f));
  }

  record(entry: RequestLogEntry): void {
    this.log.push(entry);
  }
}
