/**
 * The one path every call takes into a service, whether it arrived over HTTP (server.ts) or from
 * another service acting as a principal (Step Functions invoking a function, EventBridge starting an
 * execution, the template deployer): due asynchronous work, injected latency and faults, quotas and
 * rates, CloudTrail, persistence — and the request log.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { AwsError } from './errors';
import { withCloudTrail } from './cloudtrail';
import type { Principal, Sandbox } from './sandbox';

export async function call(
  sandbox: Sandbox,
  serviceName: string,
  operation: string,
  input: any,
  caller: Principal,
  requestId = sandbox.requestId(),
): Promise<any> {
  const service = sandbox.services.get(serviceName);
  if (!service) throw new AwsError('UnknownOperationException', `Service ${serviceName} is not emulated by this sandbox`, 400);
  if (!Object.hasOwn(service.operations, operation)) {
    throw service.protocol === 'query'
      ? new AwsError('InvalidAction', `Could not find operation ${operation}`, 400)
      : new AwsError('UnknownOperationException', `Unknown operation ${operation}`, 400);
  }
  sandbox.tick();
  const latency = sandbox.faults.latencyFor(service.name, operation);
  if (latency > 0) await sleep(latency);
  const ctx = { sandbox, caller, requestId, service: service.name, operation };
  const result = await withCloudTrail(service, ctx, input, async () => {
    sandbox.quotas.admit(service.name, operation, service.readOnly?.has(operation) ?? false);
    sandbox.faults.check(service.name, operation, caller.arn, input);
    return service.operations[operation](input, ctx);
  });
  if (!service.readOnly?.has(operation)) sandbox.persist();
  sandbox.faults.check(service.name, operation, caller.arn, input, 'after');
  return result;
}

/** A call made by the sandbox on a principal's behalf, recorded in the request log like an HTTP one. */
export async function callAs(sandbox: Sandbox, caller: Principal, serviceName: string, operation: string, input: any): Promise<any> {
  const started = Date.now();
  let outcome = 'OK';
  let status = 200;
  try {
    return await call(sandbox, serviceName, operation, input, caller);
  } catch (e) {
    outcome = e instanceof AwsError ? e.code : 'InternalFailure';
    status = e instanceof AwsError ? e.status : 500;
    throw e;
  } finally {
    sandbox.faults.record({
      time: new Date().toISOString(),
      caller: caller.arn,
      service: serviceName,
      operation,
      outcome,
      status,
      durationMs: Date.now() - started,
    });
  }
}
