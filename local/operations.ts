/**
 * The day-two operations from the command line (`msf-cmk revert|move|rotate|audit …`): the operation's own
 * state machine (statemachine/<operation>.asl.json) with the very handlers CDK deploys, on the local runner,
 * against a sandbox already listening (`--endpoint`, e.g. `npm run sandbox`) or real AWS (`--aws`). A
 * deployed state machine is started with `msf-cmk start --state-machine-arn …` instead.
 */
import { IAMClient, GetRoleCommand } from '@aws-sdk/client-iam';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { STSClient, GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { LocalStateMachine, STATE_MACHINE_NAMES, definitionOf, type ExecutionResult } from './runner';
import { deployLocally, functionEnvironment } from './deployment';
import { fleetCounter, fromLocalEvent, personas, progressRenderer, reportLines } from './progress';
import { causeMessage } from '../lambdas/lib/errors';

export type RemoteTarget = { kind: 'endpoint'; endpoint: string } | { kind: 'aws' };

/** The functions' environment on the target: the deployment put in place, the orchestrator's credentials. */
export async function targetEnvironment(target: RemoteTarget): Promise<{ account: string; region: string; env: Record<string, string> }> {
  const region = process.env.AWS_REGION ?? 'us-east-1';
  if (target.kind === 'endpoint') {
    const root = { endpoint: target.endpoint, region, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
    const account = ((await (await fetch(`${target.endpoint}/_sandbox/health`)).json()) as { account: string }).account;
    const deployment = await deployLocally({ iam: new IAMClient(root), dynamodb: new DynamoDBClient(root) }, { partition: 'aws', account, region });
    const res = await fetch(`${target.endpoint}/_sandbox/credentials`, {
      method: 'POST',
      body: JSON.stringify({ roleArn: deployment.orchestratorRoleArn, sessionName: 'msf-cmk-orchestrator' }),
    });
    if (!res.ok) throw new Error(`the sandbox would not issue orchestrator credentials: ${await res.text()}`);
    return {
      account,
      region,
      env: functionEnvironment(
        target.endpoint,
        region,
        (await res.json()) as { accessKeyId: string; secretAccessKey: string; sessionToken: string },
        deployment,
      ),
    };
  }
  // Real AWS from a laptop: the caller's role (standard credential chain) plays the orchestrator.
  const iam = new IAMClient({ region });
  const identity = await new STSClient({ region }).send(new GetCallerIdentityCommand({}));
  const [, partition, , , , resource] = identity.Arn!.split(':');
  if (!resource.startsWith('assumed-role/')) throw new Error(`--aws runs as a role session (AWS_PROFILE of a role); ${identity.Arn} is not one`);
  // A session ARN drops the role's path, which trust policies need.
  const callerRole = (await iam.send(new GetRoleCommand({ RoleName: resource.split('/')[1] }))).Role!.Arn!;
  const deployment = await deployLocally({ iam, dynamodb: new DynamoDBClient({ region }) }, { partition, account: identity.Account!, region }, {}, callerRole);
  return { account: identity.Account!, region, env: functionEnvironment(undefined, region, undefined, deployment) };
}

/**
 * Runs one operation for one input with the one progress view, and prints its report (the summary lines
 * `npm start` and `cli start` print, then the whole output: an audit's findings in full) or its failure.
 */
export async function runOperation(target: RemoteTarget, operation: string, input: object, options: { fast?: boolean } = {}): Promise<ExecutionResult> {
  const { account, region, env } = await targetEnvironment(target);
  const machine = new LocalStateMachine({
    account,
    region,
    env,
    definitionPath: definitionOf(operation),
    stateMachineName: STATE_MACHINE_NAMES[operation],
    ...(options.fast ? { waitMs: 0, retryScale: 0 } : {}),
  });
  console.log(`▶ ${STATE_MACHINE_NAMES[operation]} ${JSON.stringify(input)}`);
  const show = progressRenderer({ print: (l) => console.log(l), personaOf: personas(), color: process.stdout.isTTY });
  const count = operation === 'onboard-fleet' ? fleetCounter((l) => console.log(l)) : undefined;
  const result = await machine.run(input, {
    onEvent: (e) => {
      const p = fromLocalEvent(e);
      if (!p) return;
      show(p);
      count?.(p);
    },
  });
  if (result.status === 'SUCCEEDED') for (const l of [...reportLines(result.output), JSON.stringify(result.output, null, 2)]) console.log(l);
  else console.log(`  Failed: ${result.error}: ${causeMessage(result.cause)}`);
  return result;
}
