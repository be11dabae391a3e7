/** The CDK app deployed into a fresh sandbox, as the deploy tests share it. */
import { CreateRoleCommand } from '@aws-sdk/client-iam';
import { readAssembly, deployTemplate } from '../../local/sandbox/deploy';
import { STACK_NAME, cachedAssembly } from '../../local/stack';
import { clients, testSandbox } from '../sandbox/helpers';
import type { SandboxOptions } from '../../local/sandbox/sandbox';

const trust = (service: string) =>
  JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: service }, Action: 'sts:AssumeRole' }] });
export const execRoleArn = (account: string, app: string) => `arn:aws:iam::${account}:role/${app}-flink-execution`;

/**
 * A sandbox (Wait states instant unless `sandbox` says otherwise) with the stack deployed from the assembly,
 * optionally edited first; `apps` get Flink execution roles and `lambdaRoles` roles Lambda may assume.
 */
export async function deployed(
  context: Record<string, unknown> = {},
  options: { edit?: (template: any) => void; apps?: string[]; lambdaRoles?: string[]; sandbox?: SandboxOptions } = {},
) {
  const { edit, apps = ['orders', 'clicks', 'ledger', 'clickstream'], lambdaRoles = ['OnboardingRequester'] } = options;
  const sb = await testSandbox({ stepFunctions: { timeScale: 0 }, ...options.sandbox });
  try {
    // The account's own roles first: the deploy's burst of IAM writes then has the request rate to itself.
    for (const app of apps)
      await clients(sb).iam.send(
        new CreateRoleCommand({ RoleName: `${app}-flink-execution`, AssumeRolePolicyDocument: trust('kinesisanalytics.amazonaws.com') }),
      );
    for (const role of lambdaRoles)
      await clients(sb).iam.send(new CreateRoleCommand({ RoleName: role, AssumeRolePolicyDocument: trust('lambda.amazonaws.com') }));
    const assembly = readAssembly(await cachedAssembly(context), STACK_NAME);
    edit?.(assembly.template);
    const result = await deployTemplate(sb.sandbox, STACK_NAME, assembly);
    return { sb, result, assembly };
  } catch (e) {
    await sb.close();
    throw e;
  }
}
