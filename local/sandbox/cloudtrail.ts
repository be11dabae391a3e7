/**
 * CloudTrail for the management API calls of the services that declare `cloudTrail` (IAM, STS, KMS,
 * Managed Flink): every call that reaches a service, answered or refused, is recorded and sent to the
 * default event bus as "AWS API Call via CloudTrail" [EB-CT], in the request path rather than per
 * operation. Read-only calls carry `readOnly: true` (plain ENABLED rules skip them, EventBridge's
 * concern) and, as a rule, no `responseElements`; refused calls (throttled ones included) carry
 * `errorCode`/`errorMessage` and no `responseElements`, as CloudTrail records them. Secrets and data
 * (secret keys, grant tokens, plaintext, ciphertext) are left out.
 */
import { AwsError } from './errors';
import { apiCallEvent, camelCase, emitEvent } from './services/eventbridge';
import type { RequestContext, Service } from './sandbox';

/** Parameters and response members CloudTrail leaves out of a record (secrets and data). */
const UNRECORDED = new Set(['SecretAccessKey', 'GrantToken', 'Plaintext', 'CiphertextBlob']);
/** Global services: CloudTrail records them in us-east-1, where EventBridge receives them. */
const GLOBAL = new Set(['iam']);

/** A request or response as CloudTrail keeps it: without the unrecorded members; nothing left is null. */
function recorded(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(recorded);
  if (typeof value !== 'object' || value === null) return value;
  const kept = Object.entries(value)
    .filter(([k, v]) => !UNRECORDED.has(k) && v !== undefined)
    .map(([k, v]) => [k, recorded(v)]);
  return kept.length ? Object.fromEntries(kept) : null;
}

/** Runs `call` as `service`'s operation and records it, whatever its outcome. */
export async function withCloudTrail<T>(service: Service, ctx: RequestContext, input: unknown, call: () => Promise<T>): Promise<T> {
  const trail = service.cloudTrail;
  if (!trail) return call();
  // Resolved before the call: a call may remove what it names (DeleteAlias).
  const resources = trail.resources?.(ctx.sandbox, input ?? {});
  let result: T;
  try {
    result = await call();
  } catch (e) {
    if (e instanceof AwsError) emit(service, ctx, input, { error: e, resources: resources?.(undefined) });
    throw e;
  }
  emit(service, ctx, input, { result, resources: resources?.(result) });
  return result;
}

function emit(service: Service, ctx: RequestContext, input: unknown, outcome: { result?: unknown; error?: AwsError; resources?: unknown[] }): void {
  const { sandbox, caller, operation, requestId } = ctx;
  const global = GLOBAL.has(service.name);
  if (global && sandbox.region !== 'us-east-1') return;
  const readOnly = (service.cloudTrail?.readOnly ?? service.readOnly)?.has(operation) ?? false;
  const event = apiCallEvent(sandbox, caller, service.name, operation, recorded(input));
  const { response: shape = (r: unknown) => r, responseOf } = service.cloudTrail ?? {};
  // CloudTrail keeps no response for a refused call, nor (mostly) for a read-only one.
  const response = outcome.error || (readOnly && !responseOf?.has(operation)) ? null : recorded(shape(outcome.result));
  emitEvent(sandbox, {
    ...event,
    detail: {
      ...event.detail,
      awsRegion: global ? 'us-east-1' : sandbox.region,
      ...(outcome.error && { errorCode: outcome.error.code, errorMessage: outcome.error.message }),
      responseElements: response === null ? null : camelCase(response),
      requestID: requestId,
      readOnly,
      ...(outcome.resources?.length && { resources: outcome.resources }),
    },
  });
}
