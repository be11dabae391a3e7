/**
 * Seeded accounts: what a platform team's account holds before onboarding, made through the AWS APIs
 * of an endpoint (the embedded sandbox or `npm run sandbox`) as the account root.
 * `demo`: orders (READY, AWS owned key), clickstream (RUNNING) with the platform key that
 * statemachine/examples/adopt-existing-key.json adopts, legacy (READY on FLINK-1_15, a runtime without CMK
 * support), and the execution role of payments, a new application for the workflow to create.
 */
import { CreateRoleCommand, GetRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { CreateApplicationCommand, DescribeApplicationCommand, KinesisAnalyticsV2Client, StartApplicationCommand } from '@aws-sdk/client-kinesis-analytics-v2';
import { CreateAliasCommand, CreateKeyCommand, DescribeKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { applicationArn, operatorRoleName } from '../lambdas/lib/names';
import { keyPolicy } from '../lambdas/lib/policies';
import { validateSettings } from '../lambdas/lib/settings';

export const SEEDS = ['demo'] as const;
export type Seed = (typeof SEEDS)[number];

interface Config {
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
}

const flinkTrust = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'kinesisanalytics.amazonaws.com' }, Action: 'sts:AssumeRole' }],
});

const DEMO = {
  roles: ['orders', 'clickstream', 'legacy', 'payments'],
  applications: [
    { name: 'orders', runtime: 'FLINK-1_20', description: 'Order enrichment', running: false },
    { name: 'clickstream', runtime: 'FLINK-1_20', description: 'Clickstream sessionization', running: true },
    { name: 'legacy', runtime: 'FLINK-1_15', description: 'Legacy reporting (a runtime without customer managed keys)', running: false },
  ],
};

export const executionRoleArn = (account: string, app: string) => `arn:aws:iam::${account}:role/${app}-flink-execution`;

/** Seeds the account; what already exists is left as it is, so seeding twice changes nothing. */
export async function seedAccount(config: Config, account: string, seed: Seed): Promise<string[]> {
  if (!SEEDS.includes(seed)) throw new Error(`unknown seed ${seed} (known: ${SEEDS.join(', ')})`);
  // The SDK's standard retries: a seed right after a deploy meets IAM's request rate.
  const iam = new IAMClient(config);
  const flink = new KinesisAnalyticsV2Client(config);
  const made: string[] = [];
  for (const app of DEMO.roles) {
    const exists = await iam.send(new GetRoleCommand({ RoleName: `${app}-flink-execution` })).then(
      () => true,
      (e) => (e.name === 'NoSuchEntityException' ? false : Promise.reject(e)),
    );
    if (!exists) {
      await iam.send(
        new CreateRoleCommand({
          RoleName: `${app}-flink-execution`,
          AssumeRolePolicyDocument: flinkTrust,
          Description: `Execution role of the ${app} Flink application`,
        }),
      );
      made.push(`role ${app}-flink-execution`);
    }
  }
  for (const a of DEMO.applications) {
    const exists = await flink.send(new DescribeApplicationCommand({ ApplicationName: a.name })).then(
      () => true,
      (e) => (e.name === 'ResourceNotFoundException' ? false : Promise.reject(e)),
    );
    if (exists) continue;
    await flink.send(
      new CreateApplicationCommand({
        ApplicationName: a.name,
        RuntimeEnvironment: a.runtime as never,
        ServiceExecutionRole: executionRoleArn(account, a.name),
        ApplicationDescription: a.description,
      }),
    );
    if (a.running) await flink.send(new StartApplicationCommand({ ApplicationName: a.name, RunConfiguration: {} }));
    made.push(`application ${a.name} (${a.runtime}${a.running ? ', RUNNING' : ''})`);
  }
  // The platform key's policy names the deployment's key administrator: only once the stack is deployed.
  const settings = validateSettings({});
  const keyAdmin = await iam.send(new GetRoleCommand({ RoleName: settings.keyAdminRoleName })).then(
    () => true,
    (e) => (e.name === 'NoSuchEntityException' ? false : Promise.reject(e)),
  );
  if (keyAdmin && (await platformKey(config, account, 'clickstream'))) made.push('key alias/platform/clickstream');
  return made;
}

/**
 * The key a platform team made for an application before its first onboarding (adopt-existing-key.json
 * names it), for a deployment with the default settings. Its operator role does not exist yet and KMS
 * refuses a policy naming a missing principal, so the key delegates to the account, and the operator's IAM
 * policy — which the workflow writes — gives the operator its rights; the rest is the documented policy
 * (facts §3). False when it is there already.
 */
async function platformKey(config: Config, account: string, application: string): Promise<boolean> {
  const kms = new KMSClient(config);
  const alias = `alias/platform/${application}`;
  const exists = await kms.send(new DescribeKeyCommand({ KeyId: alias })).then(
    () => true,
    (e) => (e.name === 'NotFoundException' ? false : Promise.reject(e)),
  );
  if (exists) return false;
  const settings = validateSettings({});
  const scope = { account, region: config.region };
  const operator = `arn:aws:iam::${account}:role${settings.rolePath}${operatorRoleName(settings, application)}`;
  const keyAdminRoleArn = `arn:aws:iam::${account}:role/${settings.keyAdminRoleName}`;
  const full = keyPolicy({ scope, applicationArn: applicationArn(scope, application), operatorRoleArn: operator, keyAdminRoleArn, delegateToAccount: true });
  const policy = { ...full, Statement: full.Statement.filter((st) => (st.Principal as { AWS?: string } | undefined)?.AWS !== operator) };
  const key = (await kms.send(new CreateKeyCommand({ Description: `Platform key for ${application}`, Policy: JSON.stringify(policy) }))).KeyMetadata!;
  await kms.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: key.KeyId }));
  return true;
}
