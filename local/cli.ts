#!/usr/bin/env node
/**
 * `npm start` (demo), `npm run sandbox`, and `run` for one input — on the in-process sandbox, on a
 * sandbox already listening (`--endpoint`), or on real AWS through the standard credential chain.
 */
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { startSandbox } from './sandbox/server';
import { consoleMounts, consoleUrl } from './console/server';
import { ROOT_ACCESS_KEY, ROOT_SECRET_KEY } from './sandbox/sandbox';
import { demo, runOnboardings, type Target } from './demo';
import { cachedAssembly, deployStack, formatOutputs, STACK_NAME, synthesize } from './stack';
import { SEEDS, seedAccount, type Seed } from './seed';
import type { DeployResult } from './sandbox/deploy';
import * as path from 'node:path';
import { startExecution } from './start';
import { unlock } from './unlock';
import { runOperation, type RemoteTarget } from './operations';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SFNClient } from '@aws-sdk/client-sfn';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { applicationArn } from '../lambdas/lib/names';
import { validateSettings } from '../lambdas/lib/settings';

const program = new Command()
  .name('msf-cmk')
  .description('Move Amazon Managed Service for Apache Flink applications onto customer managed KMS keys, in the documented order.');

const targetOptions = (cmd: Command) =>
  cmd
    .addOption(new Option('--endpoint <url>', 'run against a sandbox already listening there (e.g. npm run sandbox)').conflicts('aws'))
    .addOption(new Option('--aws', 'run against real AWS with the standard credential chain (AWS_PROFILE, AWS_REGION…)'))
    .addOption(new Option('--fast', 'no simulated delays: no IAM propagation, instant Managed Flink operations (sandbox only)').conflicts('aws'))
    .addOption(new Option('--verbose', "print the step functions' own log lines (structured JSON, as CloudWatch Logs gets them)"));

targetOptions(
  program
    .command('demo', { isDefault: true })
    .description('seed a realistic account on the sandbox and onboard two applications (npm start)')
    .option('--input <file>', 'onboard with this execution input instead (JSON file)')
    .option('--application <name>', 'onboard just this application name with default settings')
    .option('--console', 'keep the embedded sandbox up after the demo, with the local console, until Ctrl-C'),
).action(async (opts) => {
  const inputs = opts.input ? [JSON.parse(readFileSync(opts.input, 'utf8'))] : opts.application ? [{ applicationName: opts.application }] : undefined;
  const target: Target = opts.aws ? { kind: 'aws' } : opts.endpoint ? { kind: 'endpoint', endpoint: opts.endpoint } : { kind: 'embedded' };
  const options = { fast: !!opts.fast, verbose: !!opts.verbose, console: !!opts.console };
  process.exitCode = target.kind === 'embedded' ? (await demo({ inputs, ...options })).exitCode : await runOnboardings(target, inputs ?? [], options);
});

program
  .command('start')
  .description('start an execution of a deployed state machine (AWS, or the sandbox with --endpoint) and follow it to the end')
  .requiredOption('--state-machine-arn <arn>', 'the OnboardApplication state machine')
  .option('--input <file>', 'execution input (JSON file)')
  .option('--application <name>', 'shorthand for the input {"applicationName": <name>}')
  .option('--name <name>', 'execution name (StartExecution is idempotent for the same name and input)')
  .option('--endpoint <url>', 'e.g. the sandbox: http://127.0.0.1:4566')
  .action(async (opts) => {
    const input = opts.input ? readFileSync(opts.input, 'utf8') : { applicationName: opts.application };
    if (!opts.input && !opts.application) throw new Error('give --input <file> or --application <name>');
    const { status } = await startExecution({ endpoint: opts.endpoint, stateMachineArn: opts.stateMachineArn, input, name: opts.name }, console.log);
    process.exitCode = status === 'SUCCEEDED' ? 0 : 1;
  });

/** `--endpoint` or `--aws`: a day-two operation works on an account that has onboarded applications. */
const remoteTarget = (opts: { endpoint?: string; aws?: boolean }): RemoteTarget => {
  if (opts.aws) return { kind: 'aws' };
  if (opts.endpoint) return { kind: 'endpoint', endpoint: opts.endpoint };
  throw new Error('give --endpoint <url> (a sandbox, e.g. npm run sandbox) or --aws');
};

/** A day-two command on one application: `--plan` for the change list, options of its own mapped into the input. */
function operationCommand(
  name: string,
  operation: string,
  description: string,
  extra: (cmd: Command) => Command = (cmd) => cmd,
  inputOf: (opts: any) => object = () => ({}),
) {
  targetOptions(
    extra(program.command(name).description(description).argument('<application>', 'the application name')).option(
      '--plan',
      'only list the changes a real run would make; nothing is written',
    ),
  ).action(async (application: string, opts) => {
    const input = { applicationName: application, mode: opts.plan ? 'plan' : 'apply', ...inputOf(opts) };
    const result = await runOperation(remoteTarget(opts), operation, input, { fast: !!opts.fast });
    process.exitCode = result.status === 'SUCCEEDED' ? 0 : 1;
  });
}

operationCommand(
  'revert',
  'revert-to-aws-owned-key',
  'move an application from its customer managed key back to the AWS owned key (revert-to-aws-owned-key); the key is retained',
);
operationCommand(
  'move',
  'move-key',
  'move an application from its customer managed key to a new one (move-key); the old key stays enabled while anything needs it',
  (cmd) => cmd.option('--key-id <key>', 'adopt this existing key instead of creating one'),
  (opts) => (opts.keyId ? { keyId: opts.keyId } : {}),
);
operationCommand(
  'rotate',
  'rotate-key',
  "rotate the key material of an application's customer managed key on demand and restart a RUNNING application so it uses it, or set KMS's automatic rotation on or off (rotate-key)",
  (cmd) =>
    cmd
      .addOption(
        new Option('--rotation <mode>', 'on-demand: new material now; automatic / off: KMS automatic rotation').choices(['on-demand', 'automatic', 'off']),
      )
      .option('--period <days>', 'with --rotation automatic: days between rotations (90-2560; KMS default 365)', (v) => Number(v))
      .option('--no-restart', 'leave a RUNNING application running on the previous material (the report says restartNeeded)'),
  (opts) => ({
    ...(opts.rotation && { rotation: opts.rotation }),
    ...(opts.period !== undefined && { rotationPeriodInDays: opts.period }),
    ...(opts.restart === false && { restart: false }),
  }),
);

targetOptions(
  program
    .command('fleet')
    .description(
      'onboard every selected application of the account (onboard-fleet): one OnboardApplication execution each, a bounded number at once, then one line per application',
    )
    .option('--plan', "only list each application's changes; nothing is written")
    .option('--filter <pattern>', 'application names matching this pattern (* and ? wildcards)')
    .option('--names <names>', 'exactly these applications (comma-separated)', (v) => v.split(','))
    .option('--runtime <runtime>', 'only applications on this runtime, e.g. FLINK-1_20')
    .option('--tag <key=value>', 'only applications with this tag')
    .option(
      '--key-id <application=key>',
      'adopt this key for this application (its policy is checked first; repeatable)',
      (v: string, all: string[]) => {
        if (!/^[^=]+=.+$/.test(v)) throw new InvalidArgumentError(`expected <application>=<key>, got ${v}`);
        return [...all, v];
      },
      [] as string[],
    )
    .option('--max-concurrency <n>', 'onboardings at once (1-40; default 5)', (v) => Number(v))
    .option(
      '--max-concurrent-restarts <n>',
      'of those, onboardings of applications not READY (their onboarding restarts them) at once (1 to --max-concurrency; default half of it)',
      (v) => Number(v),
    )
    .option('--tolerated-failure-percentage <p>', 'the fleet fails when more than this share fails (0-100; default 0)', (v) => Number(v)),
).action(async (opts) => {
  const [key, ...value] = opts.tag?.split('=') ?? [];
  const input = {
    mode: opts.plan ? 'plan' : 'apply',
    ...(opts.filter && { namePattern: opts.filter }),
    ...(opts.names && { applicationNames: opts.names }),
    ...(opts.runtime && { runtimeEnvironment: opts.runtime }),
    ...(opts.tag && { tag: { key, value: value.join('=') } }),
    ...(opts.keyId.length && { keyIds: Object.fromEntries(opts.keyId.map((kv: string) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)])) }),
    ...(opts.maxConcurrency !== undefined && { maxConcurrency: opts.maxConcurrency }),
    ...(opts.maxConcurrentRestarts !== undefined && { maxConcurrentRestarts: opts.maxConcurrentRestarts }),
    ...(opts.toleratedFailurePercentage !== undefined && { toleratedFailurePercentage: opts.toleratedFailurePercentage }),
  };
  const result = await runOperation(remoteTarget(opts), 'onboard-fleet', input, { fast: !!opts.fast });
  process.exitCode = result.status === 'SUCCEEDED' ? 0 : 1;
});

targetOptions(
  program
    .command('audit')
    .description('audit one application, or every application of the account, read-only; findings in ASFF with the operation that fixes each')
    .argument('[application]', 'the application name (default: all of them)')
    .addOption(new Option('--rotation <expected>', 'automatic rotation as configured').choices(['off', 'automatic']).default('off')),
).action(async (application: string | undefined, opts) => {
  const result = await runOperation(
    remoteTarget(opts),
    'audit',
    { ...(application && { applicationName: application }), rotation: opts.rotation },
    { fast: !!opts.fast },
  );
  process.exitCode = result.status !== 'SUCCEEDED' ? 2 : result.output.findings.length ? 1 : 0;
});

program
  .command('cleanup')
  .description(
    "clean up an onboarding execution that was stopped or timed out (its Catch did not run): starts the deployed cleanup state machine, which undoes what it did from its own history and frees its lock (the stack's CleanupRule does this by itself; this is for an event that never arrived)",
  )
  .argument('<execution-arn>', 'the ended execution (ABORTED or TIMED_OUT)')
  .requiredOption('--state-machine-arn <arn>', 'the Cleanup state machine (stack output CleanupStateMachineArn)')
  .option('--endpoint <url>', 'e.g. the sandbox: http://127.0.0.1:4566')
  .action(async (executionArn: string, opts) => {
    const { status } = await startExecution({ endpoint: opts.endpoint, stateMachineArn: opts.stateMachineArn, input: { executionArn } }, console.log);
    process.exitCode = status === 'SUCCEEDED' ? 0 : 1;
  });

program
  .command('sandbox')
  .description('serve the offline AWS sandbox on one port (npm run sandbox; the services it emulates: docs/sandbox.md)')
  .option('--port <port>', 'port on 127.0.0.1', '4566')
  .option('--state-file <path>', 'keep the account in this JSON file across restarts', '.sandbox-state.json')
  .option('--no-state-file', 'keep the account in memory only')
  .option('--iam-propagation-ms <ms>', 'hide new roles from KMS and STS for this long', '0')
  .option('--account <id>', 'account id', '000000000000')
  .option('--region <region>', 'region', 'us-east-1')
  .option('--deploy', 'synthesize the CDK app and deploy it into the sandbox (as npm run deploy:local)')
  .addOption(new Option('--seed <name>', 'seed the account (applications new, READY, RUNNING, old runtime)').choices([...SEEDS]))
  .option('--time-scale <n>', "Wait states and retry intervals last this fraction of the ASL's (1 = as in AWS)", '1')
  .action(async (opts) => {
    const sb = await startSandbox({
      mounts: consoleMounts,
      port: Number(opts.port),
      stateFile: opts.stateFile || undefined,
      iamPropagationDelayMs: Number(opts.iamPropagationMs),
      account: opts.account,
      region: opts.region,
      stepFunctions: { timeScale: Number(opts.timeScale) },
    });
    const e = sb.endpoint;
    console.log(`AWS sandbox listening on ${e} — account ${sb.sandbox.account}, region ${sb.sandbox.region}
services: ${[...sb.sandbox.services.keys()].sort().join(', ')} (health: GET ${e}/_sandbox/health)
${opts.stateFile ? `state file: ${opts.stateFile}` : 'state: in memory'}`);
    let stateMachineArn = '<StateMachineArn of npm run deploy:local>';
    if (opts.deploy) {
      const result = await deployStack(sb.sandbox, { assemblyDir: await cachedAssembly() });
      console.log(`\n${formatOutputs(result).join('\n')}`);
      stateMachineArn = result.outputs.StateMachineArn;
    }
    if (opts.seed)
      console.log(`\nseeded ${opts.seed}: ${(await seedAccount(sb.clientConfig(), sb.sandbox.account, opts.seed as Seed)).join(', ') || 'already there'}`);
    console.log(`
Credentials of the account root (as in LocalStack):
  export AWS_ACCESS_KEY_ID=${ROOT_ACCESS_KEY} AWS_SECRET_ACCESS_KEY=${ROOT_SECRET_KEY} AWS_REGION=${sb.sandbox.region} AWS_DEFAULT_REGION=${sb.sandbox.region} AWS_ENDPOINT_URL=${e}

Try:
  aws stepfunctions start-execution --state-machine-arn ${stateMachineArn} --input '{"applicationName":"orders"}'
  aws stepfunctions describe-execution --execution-arn <executionArn from above>
  aws events put-events --entries '[{"EventBusName":"msf-cmk-onboarding-requests","Source":"msf-cmk.onboarding","DetailType":"Onboard Application Requested","Detail":"{\\"applicationName\\":\\"clickstream\\"}"}]'
  aws stepfunctions list-executions --state-machine-arn ${stateMachineArn}
  aws --endpoint-url ${e} sts get-caller-identity
  aws --endpoint-url ${e} iam create-role --role-name demo --assume-role-policy-document '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}'
  aws --endpoint-url ${e} kms create-key --description demo
  aws --endpoint-url ${e} kinesisanalyticsv2 list-applications
  npm start -- --endpoint ${e} --application <name>

Control endpoint: GET ${e}/_sandbox/log · GET ${e}/_sandbox/state · POST ${e}/_sandbox/faults · POST ${e}/_sandbox/clock/advance
Console: ${consoleUrl(e)}
Ctrl-C to stop.`);
    const stop = () => void sb.close().then(() => process.exit(0));
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });

program
  .command('deploy-local')
  .description('synthesize the CDK app into cdk.out and deploy it into a running sandbox (npm run deploy:local), as cdklocal deploy does')
  .option('--endpoint <url>', 'the sandbox', process.env.AWS_ENDPOINT_URL ?? 'http://127.0.0.1:4566')
  .action(async (opts) => {
    const assemblyDir = path.resolve('cdk.out');
    console.log(`synthesizing into ${assemblyDir} …`);
    await synthesize({ outdir: assemblyDir });
    const res = await fetch(`${opts.endpoint}/_sandbox/deploy`, { method: 'POST', body: JSON.stringify({ stackName: STACK_NAME, assemblyDir }) }).catch(
      (err) => {
        throw new Error(`no sandbox at ${opts.endpoint} (start one with npm run sandbox): ${err.cause?.message ?? err.message}`);
      },
    );
    const body = (await res.json()) as DeployResult & { error?: string };
    if (!res.ok) throw new Error(`deploy failed: ${body.error}`);
    console.log(formatOutputs(body).join('\n'));
  });

program
  .command('unlock')
  .description("free an application's lock whose holder execution no longer runs (stopped, timed out, or unknown to Step Functions); recorded in the lock item")
  .argument('<application>', 'the application name')
  .requiredOption('--reason <text>', 'why (kept in the lock item with who and when)')
  .option('--lock-table <name>', "the deployment's lock table", validateSettings({}).lockTableName)
  .option('--endpoint <url>', 'e.g. the sandbox: http://127.0.0.1:4566')
  .action(async (application: string, opts) => {
    const config = { region: process.env.AWS_REGION ?? 'us-east-1', ...(opts.endpoint && { endpoint: opts.endpoint }) };
    const sts = new STSClient(config);
    const [, partition, , , account] = (await sts.send(new GetCallerIdentityCommand({}))).Arn!.split(':');
    const result = await unlock(
      { dynamodb: new DynamoDBClient(config), sfn: new SFNClient(config), sts },
      { lockTableName: opts.lockTable, applicationArn: applicationArn({ partition, account, region: config.region }, application), reason: opts.reason },
    );
    console.log(result.message);
    process.exitCode = result.unlocked ? 0 : 1;
  });

program.parseAsync().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exitCode = 2;
});
