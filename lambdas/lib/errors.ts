/**
 * Named errors of the workflow. Step Functions matches Retry and Catch on `error.name`, so every name
 * here is part of the contract with `statemachine/onboard-application.asl.json`.
 */
export abstract class OnboardingError extends Error {
  abstract override readonly name: string;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The execution input breaks `statemachine/input.schema.json`; the message names the field. */
export class InvalidInput extends OnboardingError {
  override readonly name = 'InvalidInput';
}

/** The function environment does not describe a valid deployment (settings.schema.json, the stack's resources). */
export class InvalidDeployment extends OnboardingError {
  override readonly name = 'InvalidDeployment';
}

/** A step found something it relies on missing: the documented order was not followed. */
export class PreconditionFailed extends OnboardingError {
  override readonly name = 'PreconditionFailed';
}

/** Another execution holds this application's lock; this one changed nothing. */
export class AlreadyInProgress extends OnboardingError {
  override readonly name = 'AlreadyInProgress';
}

/** The application does not exist and the input carries no `createApplication` spec. */
export class ApplicationNotFound extends OnboardingError {
  override readonly name = 'ApplicationNotFound';
}

/** CMKs need Flink 1.20 or later (facts §6); the application must be upgraded first. */
export class UnsupportedRuntime extends OnboardingError {
  override readonly name = 'UnsupportedRuntime';
}

/** The application is in a transitional status (UPDATING, STARTING…); retried with backoff. */
export class ApplicationBusy extends OnboardingError {
  override readonly name = 'ApplicationBusy';
}

/** A role this workflow just created cannot be assumed yet (IAM propagation); retried. */
export class RoleNotYetAssumable extends OnboardingError {
  override readonly name = 'RoleNotYetAssumable';
}

/** KMS does not see a principal named in the key policy yet (IAM propagation, facts §2 step 4); retried. */
export class PrincipalNotYetVisible extends OnboardingError {
  override readonly name = 'PrincipalNotYetVisible';
}

/** A resource with our name exists but was not made by this workflow; we never take it over. */
export class ResourceConflict extends OnboardingError {
  override readonly name = 'ResourceConflict';
}

/** The key-changing update ended FAILED (facts §7: failures after the call show up on the operation). */
export class ApplicationUpdateFailed extends OnboardingError {
  override readonly name = 'ApplicationUpdateFailed';
}

/** The application does not report what the workflow set up. */
export class VerificationFailed extends OnboardingError {
  override readonly name = 'VerificationFailed';
}

/** A read-only client was asked to write: a bug in a find phase or plan mode, never retried. */
export class WriteRefused extends OnboardingError {
  override readonly name = 'WriteRefused';
}

/**
 * A step's apply failed after a change that cannot be repeated (CreateKey) had been made: not retried, so
 * no second key is made; the rollback finds what was made by its ownership tags.
 */
export class ApplyInterrupted extends OnboardingError {
  override readonly name = 'ApplyInterrupted';
}

/** A cleanup was asked for an execution that has not ended (RUNNING, or waiting to be redriven). */
export class NotCleanable extends OnboardingError {
  override readonly name = 'NotCleanable';
}

/**
 * A redriven execution reached a change while its lock is no longer its own: its cleanup (or `msf-cmk unlock`)
 * has undone it and let the lock go, or another execution holds it. Nothing was changed; start a new execution.
 */
export class RedriveRefused extends OnboardingError {
  override readonly name = 'RedriveRefused';
}

/** The AWS error name of an SDK exception (or any error). */
export const errorName = (e: unknown): string => (e instanceof Error ? e.name : typeof e);

/**
 * True when `e` is the AWS error `code`. The SDK names modeled Query-protocol errors after their shape
 * (IAM's wire code `NoSuchEntity` arrives as `NoSuchEntityException`), unmodeled ones after the code.
 */
export const isAwsError = (e: unknown, code: string): boolean => {
  const name = errorName(e);
  return name === code || name === `${code}Exception`;
};

/**
 * The message of a caught error's Cause. For a Lambda function error Step Functions' Cause is the
 * function's error payload as JSON (`{"errorType", "errorMessage", "trace"}`); otherwise it is the text.
 */
export function causeMessage(cause: string | undefined): string {
  if (!cause?.startsWith('{')) return cause ?? '';
  try {
    const payload = JSON.parse(cause) as { errorMessage?: unknown };
    return typeof payload.errorMessage === 'string' ? payload.errorMessage : cause;
  } catch {
    // Not JSON after all: the text is the message.
    return cause;
  }
}

/** The call's answer, or undefined when AWS answers that the thing does not exist (one of `missing`). */
export async function unlessMissing<T>(call: Promise<T>, ...missing: string[]): Promise<T | undefined> {
  try {
    return await call;
  } catch (e) {
    if (missing.some((code) => isAwsError(e, code))) return undefined;
    throw e;
  }
}
