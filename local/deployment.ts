/**
 * What the CDK stack deploys besides the functions and state machines, made in an account through the
 * SDK — for local runs on the in-process runner (the sandbox's own deployment of the synthesized template
 * is the faithful path). The policies are the same pure builders the stack uses; the names and settings
 * come from the same schema. Idempotent: a second call converges the roles' policies (a shared operator's
 * managed policy is made once, as its content depends on nothing but the scope).
 */
import {
  AttachRolePolicyCommand,
  CreatePolicyCommand,
  CreateRoleCommand,
  GetRoleCommand,
  PutRolePolicyCommand,
  UpdateAssumeRolePolicyCommand,
  type IAMClient,
} from '@aws-sdk/client-iam';
import { CreateTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BOUNDARY_POLICY_NAME,
  boundaryPolicyArn,
  keyAdminPolicy,
  managedRolesBoundary,
  orchestratorPolicy,
  roleTrustPolicy,
  sharedOperatorKeyPolicy,
} from '../lambdas/lib/policies';
import { deploymentEnvironment, validateSettings, type Deployment, type Settings } from '../lambdas/lib/settings';
import { SHARED_OPERATOR_POLICY_NAME, roleNameOf, sharedOperatorPolicyArn, type Scope } from '../lambdas/lib/names';
import { SERVICE_NAME } from '../lambdas/lib/observability';

export const ORCHESTRATOR_ROLE = 'MsfCmkOrchestrator';
const lambdaTrust = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }] };

const unlessExists = (name: string) => (e: Error) => {
  if (e.name !== name) throw e;
};

async function ensureRole(iam: IAMClient, name: string, trust: object, policyName: string, policy: object, description: string): Promise<string> {
  const existing = await iam.send(new GetRoleCommand({ RoleName: name })).catch(unlessExists('NoSuchEntityException'));
  const arn = existing
    ? existing.Role!.Arn!
    : (await iam.send(new CreateRoleCommand({ RoleName: name, AssumeRolePolicyDocument: JSON.stringify(trust), Description: description }))).Role!.Arn!;
  if (existing) await iam.send(new UpdateAssumeRolePolicyCommand({ RoleName: name, PolicyDocument: JSON.stringify(trust) }));
  await iam.send(new PutRolePolicyCommand({ RoleName: name, PolicyName: policyName, PolicyDocument: JSON.stringify(policy) }));
  return arn;
}

/**
 * Deploys the orchestrator role, the key administrator, the boundary and the lock table; returns the
 * deployment. `actAs` names an existing role to be the orchestrator instead (a laptop run on real AWS:
 * the caller's own role), in which case no orchestrator role is made.
 */
export async function deployLocally(
  clients: { iam: IAMClient; dynamodb: DynamoDBClient },
  scope: Required<Scope>,
  settingsInput: Partial<Settings> = {},
  actAs?: string,
): Promise<Deployment> {
  const settings = validateSettings(settingsInput);
  const { iam, dynamodb } = clients;
  await dynamodb
    .send(
      new CreateTableCommand({
        TableName: settings.lockTableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'lockId', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'lockId', KeyType: 'HASH' }],
      }),
    )
    .catch(unlessExists('ResourceInUseException'));
  await iam
    .send(new CreatePolicyCommand({ PolicyName: BOUNDARY_POLICY_NAME, PolicyDocument: JSON.stringify(managedRolesBoundary()) }))
    .catch(unlessExists('EntityAlreadyExistsException'));
  const permissionsBoundaryArn = boundaryPolicyArn(scope);
  const keyAdminRoleArn = `arn:${scope.partition}:iam::${scope.account}:role/${settings.keyAdminRoleName}`;
  const orchestratorRoleArn =
    actAs ??
    (await ensureRole(
      iam,
      ORCHESTRATOR_ROLE,
      lambdaTrust,
      'orchestrator',
      orchestratorPolicy({
        scope,
        rolePath: settings.rolePath,
        keyAdminRoleArn,
        lockTableName: settings.lockTableName,
        permissionsBoundaryArn,
        securityHubFindings: settings.securityHubFindings,
        sharedOperatorRoleArn: settings.sharedOperatorRoleArn,
      }),
      'MSF CMK orchestrator (the step functions)',
    ));
  await ensureRole(
    iam,
    settings.keyAdminRoleName,
    roleTrustPolicy({ trustedPrincipalArns: [orchestratorRoleArn] }),
    'key-administration',
    keyAdminPolicy({ scope, aliasPrefix: settings.aliasPrefix }),
    'KMS key administrator for Managed Flink CMK onboarding (no cryptographic use)',
  );
  if (settings.sharedOperatorRoleArn) {
    // As the stack does: one constant policy, attached to the existing role (which must exist, as in CloudFormation).
    const PolicyArn = sharedOperatorPolicyArn(scope);
    await iam
      .send(new CreatePolicyCommand({ PolicyName: SHARED_OPERATOR_POLICY_NAME, PolicyDocument: JSON.stringify(sharedOperatorKeyPolicy({ scope })) }))
      .catch(unlessExists('EntityAlreadyExistsException'));
    await iam.send(new AttachRolePolicyCommand({ RoleName: roleNameOf(settings.sharedOperatorRoleArn), PolicyArn }));
  }
  return { ...settings, orchestratorRoleArn, keyAdminRoleArn, permissionsBoundaryArn };
}

/**
 * The standard environment a deployed function has, pointed at an endpoint (the sandbox), with its
 * deployment. Locally the step log lines are off unless asked for (`--verbose`: INFO).
 */
export function functionEnvironment(
  endpoint: string | undefined,
  region: string,
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } | undefined,
  deployment: Deployment,
  logLevel = 'SILENT',
): Record<string, string> {
  return {
    POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
    POWERTOOLS_LOG_LEVEL: logLevel,
    AWS_REGION: region,
    ...(endpoint && { AWS_ENDPOINT_URL: endpoint }),
    ...(credentials && {
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      AWS_SESSION_TOKEN: credentials.sessionToken ?? '',
    }),
    // The state machine owns retries (ASL Retry); the SDK makes one attempt.
    AWS_MAX_ATTEMPTS: '1',
    ...deploymentEnvironment(deployment),
  };
}
