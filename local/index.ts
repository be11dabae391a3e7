/**
 * The sandbox for your own tests, in one import — the way moto's `mock_aws` or LocalStack's fixtures are
 * used: start an account, deploy a cloud assembly into it, seed it, inject faults, move its clock,
 * snapshot and diff it, and get SDK settings for the root or for a role.
 *
 *   const aws = await startAccount();
 *   const stack = await aws.deploy('cdk.out', 'MyStack');
 *   await aws.sfn().send(new StartExecutionCommand({ stateMachineArn: stack.outputs.StateMachineArn }));
 *   aws.faults.inject({ service: 'kms', operation: 'CreateKey', error: 'ThrottlingException', times: 1 });
 *   const before = aws.snapshot(); … expect(aws.diff(before)).toEqual([]);
 *   await aws.stop();
 */
import { SFNClient } from '@aws-sdk/client-sfn';
import { startSandbox, type RunningSandbox } from './sandbox/server';
import { assumeRoleAsService } from './sandbox/services/sts';
import { deployTemplate, readAssembly, type DeployResult } from './sandbox/deploy';
import { seedAccount, type Seed } from './seed';
import type { SandboxOptions } from './sandbox/sandbox';
import type { FaultSpec } from './sandbox/faults';
import type { SandboxState, StateChange } from './sandbox/state';

export type { DeployResult, FaultSpec, SandboxOptions, SandboxState, StateChange };

/** SDK client settings: endpoint, region and credentials, for any `new XxxClient(config)`. */
export interface ClientConfig {
  endpoint: string;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  maxAttempts: number;
}

export interface Account {
  /** The sandbox itself, for what this module does not wrap. */
  readonly sandbox: RunningSandbox;
  readonly endpoint: string;
  readonly accountId: string;
  readonly region: string;
  /** Settings signed as the account root. */
  config(): ClientConfig;
  /** Settings signed as a session of `roleArn`, assumed by a service (Lambda unless told otherwise). */
  configFor(roleArn: string, service?: string): ClientConfig;
  /** A Step Functions client as root (the common first call in a test). */
  sfn(): SFNClient;
  /** Deploys (or updates) a stack of a cloud assembly folder (`cdk synth` output). */
  deploy(assemblyDir: string, stackName: string, parameters?: Record<string, string>): Promise<DeployResult>;
  /** Seeds the account (`demo`: applications new, READY, RUNNING, old runtime). */
  seed(name: Seed): Promise<string[]>;
  /** Fault injection: `inject`, `clear`, and the request log (`log`). */
  readonly faults: {
    inject(spec: FaultSpec): void;
    clear(): void;
    readonly log: ReadonlyArray<{ caller: string; service: string; operation: string; outcome: string }>;
  };
  /** The sandbox clock: advance it to complete asynchronous work (application updates, propagation). */
  advance(ms: number): void;
  snapshot(): SandboxState;
  diff(before: SandboxState): StateChange[];
  restore(state: SandboxState): void;
  stop(): Promise<void>;
}

/** Starts an account on a free port (options as `npm run sandbox` takes them). */
export async function startAccount(options: SandboxOptions & { port?: number } = {}): Promise<Account> {
  const sb = await startSandbox({ port: 0, ...options });
  const { sandbox } = sb;
  const root = (): ClientConfig => ({ ...sb.clientConfig(), maxAttempts: 1 });
  return {
    sandbox: sb,
    endpoint: sb.endpoint,
    accountId: sandbox.account,
    region: sandbox.region,
    config: root,
    configFor: (roleArn, service = 'lambda.amazonaws.com') => {
      const s = assumeRoleAsService(sandbox, service, roleArn, 'test-session');
      return { ...root(), credentials: { accessKeyId: s.AccessKeyId, secretAccessKey: s.SecretAccessKey, sessionToken: s.SessionToken } };
    },
    sfn: () => new SFNClient(root()),
    deploy: (dir, stackName, parameters) => deployTemplate(sandbox, stackName, readAssembly(dir, stackName), parameters),
    seed: (name) => seedAccount(root(), sandbox.account, name),
    faults: {
      inject: (spec) => sandbox.faults.inject(spec),
      clear: () => sandbox.faults.clear(),
      get log() {
        return sandbox.faults.log;
      },
    },
    advance: (ms) => sandbox.advance(ms),
    snapshot: () => sandbox.snapshot(),
    diff: (before) => sandbox.diff(before),
    restore: (state) => sandbox.restore(state),
    stop: () => sb.close(),
  };
}
