/**
 * The EventBridge event patterns and target inputs that start an onboarding. Pure data with no aws-cdk-lib
 * import, so the stack, the tests and the sandbox use the same objects.
 */

import { SESSION_PREFIX, roleNameOf } from '../lambdas/lib/names';

/** An EventBridge event pattern, in the JSON form AWS takes (`detail-type`, not CDK's `detailType`). */
export type EventPattern = { [field: string]: unknown };

/** An input transformer as in the PutTargets API (`InputTransformer`). */
export interface InputTransformer {
  inputPathsMap: Record<string, string>;
  inputTemplate: string;
}

/** Our own request events (a custom source; `aws.` prefixes are reserved for AWS). */
export const REQUEST_SOURCE = 'msf-cmk.onboarding';
export const REQUEST_DETAIL_TYPE = 'Onboard Application Requested';
/** A request event's detail is the execution input (statemachine/input.schema.json), passed on unchanged. */
export const REQUEST_INPUT_PATH = '$.detail';

/**
 * Request events: our source and detail-type, with an application name. The rest of the input is checked
 * by ValidateInput against the schema, so the contract stays in one place.
 */
export function onboardingRequestPattern(): EventPattern {
  return {
    source: [REQUEST_SOURCE],
    'detail-type': [REQUEST_DETAIL_TYPE],
    detail: { applicationName: [{ exists: true }] },
  };
}

/**
 * The day-two operations' request events: same source, one detail-type each, the detail their execution
 * input (checked by ValidateInput, as for onboarding).
 */
export const OPERATION_REQUEST_DETAIL_TYPES = {
  audit: 'Audit Applications Requested',
  'move-key': 'Move Application To New Key Requested',
  'rotate-key': 'Rotate Application Key Requested',
  'revert-to-aws-owned-key': 'Revert Application To AWS Owned Key Requested',
} as const;

export function operationRequestPattern(operation: keyof typeof OPERATION_REQUEST_DETAIL_TYPES): EventPattern {
  const { detail, ...rest } = onboardingRequestPattern();
  // An audit without an application name audits the whole account.
  return { ...rest, 'detail-type': [OPERATION_REQUEST_DETAIL_TYPES[operation]], ...(operation !== 'audit' && { detail }) };
}

/** facts §8: the CloudTrail-backed events Managed Flink API calls produce. */
export const CLOUDTRAIL_SOURCE = 'aws.kinesisanalytics';
export const CLOUDTRAIL_DETAIL_TYPE = 'AWS API Call via CloudTrail';
export const CLOUDTRAIL_EVENT_SOURCE = 'kinesisanalytics.amazonaws.com';

/**
 * The session ARN prefix of every call an operator of the workflow makes: STS session ARNs carry the role's
 * name but not its path (`arn:<partition>:sts::<account>:assumed-role/<role name>/<session name>`), and
 * every operator role's name starts with the deployment's operatorRolePrefix. A shared operator is also
 * someone else's (a pipeline creating applications to onboard): only the workflow's own sessions of it.
 */
export const operatorSessionArnPrefix = (p: OperatorOf) =>
  p.sharedOperatorRoleArn
    ? `arn:${p.partition}:sts::${p.account}:assumed-role/${roleNameOf(p.sharedOperatorRoleArn)}/${SESSION_PREFIX}`
    : `arn:${p.partition}:sts::${p.account}:assumed-role/${p.operatorRolePrefix}`;
type OperatorOf = { partition: string; account: string; operatorRolePrefix: string; sharedOperatorRoleArn?: string };

/** CreateApplication's key type in `requestParameters` (facts §8 illustrative event). */
const keyType = (matcher: unknown) => ({ applicationConfiguration: { applicationEncryptionConfiguration: { keyType: [matcher] } } });

/**
 * Auto-onboarding (facts §8): a successful CreateApplication that names an application and does not choose
 * a customer managed key, made by anyone but the workflow's own operator. Without that exclusion an
 * execution that creates its application would start a second execution for the same application. `anything-but` never matches an absent field, so an event
 * without `userIdentity.arn` does not start an onboarding either. Failed calls still reach CloudTrail (with
 * `errorCode`) and are ignored: there is no application to onboard.
 */
export function autoOnboardingPattern(p: OperatorOf): EventPattern {
  return {
    source: [CLOUDTRAIL_SOURCE],
    'detail-type': [CLOUDTRAIL_DETAIL_TYPE],
    detail: {
      eventSource: [CLOUDTRAIL_EVENT_SOURCE],
      eventName: ['CreateApplication'],
      errorCode: [{ exists: false }],
      requestParameters: {
        applicationName: [{ exists: true }],
        // Created on a customer managed key already: the creator chose its key; leave it. Absent means
        // the AWS owned key (facts §8: these parameter names are unconfirmed; if wrong, this never excludes).
        $or: [keyType({ exists: false }), keyType({ 'anything-but': 'CUSTOMER_MANAGED_KEY' })],
      },
      userIdentity: { arn: [{ 'anything-but': { prefix: operatorSessionArnPrefix(p) } }] },
    },
  };
}

/**
 * The execution input for an auto-onboarding: the created application's name. Everything else is the
 * deployment's (its functions' environment), so an event cannot choose a role path or an alias.
 */
export function autoOnboardingInput(): InputTransformer {
  return {
    inputPathsMap: { applicationName: '$.detail.requestParameters.applicationName' },
    // Unquoted, so EventBridge inserts the value as a JSON string.
    inputTemplate: '{"applicationName":<applicationName>}',
  };
}

/**
 * next-capabilities §1.5: the KMS calls that can hurt a key an application depends on (there is no key-state
 * event). UntagResource too: removing the in-use tag is the first of the two acts the deletion guard asks for.
 */
export const KEY_GUARD_EVENT_NAMES = [
  'DisableKey',
  'ScheduleKeyDeletion',
  'PutKeyPolicy',
  'CreateGrant',
  'RevokeGrant',
  'DeleteAlias',
  'UntagResource',
] as const;
/** KMS's own events: the key's deletion when its pending window ends, and a rotation. */
export const KMS_NATIVE_DETAIL_TYPES = ['KMS CMK Deletion', 'KMS CMK Rotation'] as const;

/**
 * The guard: a successful KMS call that can hurt a key, or KMS's own deletion or rotation event. Either
 * starts an audit of the account, whose findings say which application it hurt and what fixes it.
 */
export function keyGuardPattern(): EventPattern {
  return {
    source: ['aws.kms'],
    $or: [
      {
        'detail-type': [CLOUDTRAIL_DETAIL_TYPE],
        detail: { eventSource: ['kms.amazonaws.com'], eventName: [...KEY_GUARD_EVENT_NAMES], errorCode: [{ exists: false }] },
      },
      { 'detail-type': [...KMS_NATIVE_DETAIL_TYPES] },
    ],
  };
}

/** EventBridge's detail type for a Step Functions execution's status change (default bus, source aws.states). */
export const EXECUTION_STATUS_CHANGE = 'Step Functions Execution Status Change';
/** The ends that run no Catch: the execution's changes stay until its cleanup (next-capabilities §6). */
export const UNCAUGHT_END_STATUSES = ['ABORTED', 'TIMED_OUT'] as const;

/** An execution of one of `stateMachineArns` that was stopped or timed out. */
export function endedWithoutCatchPattern(stateMachineArns: string[]): EventPattern {
  return {
    source: ['aws.states'],
    'detail-type': [EXECUTION_STATUS_CHANGE],
    detail: { status: [...UNCAUGHT_END_STATUSES], stateMachineArn: stateMachineArns },
  };
}
