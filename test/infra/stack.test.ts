/**
 * The synthesized stack: the state machine is the ASL file with this stack's functions substituted in, the
 * orchestrator has exactly its least-privilege policy, logging and tracing are on, the rules are the pure
 * patterns, and cdk-nag's AwsSolutions pack finds nothing unacknowledged. Two synths for the whole suite —
 * the defaults, and auto-onboarding with non-default settings — without bundling the functions (these
 * tests read the template only; the bundles are what the sandbox deploy runs).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import type { CfnRole } from 'aws-cdk-lib/aws-iam';
import { buildApp, STACK_NAME } from '../../infra/app';
import {
  type OPERATION_REQUEST_DETAIL_TYPES,
  keyGuardPattern,
  endedWithoutCatchPattern,
  autoOnboardingInput,
  autoOnboardingPattern,
  onboardingRequestPattern,
  operationRequestPattern,
  REQUEST_INPUT_PATH,
} from '../../infra/event-patterns';
import { START_EXECUTION_SYNC } from '../../local/asl-lint';
import { ASL_FILE, DAY_TWO_MACHINES, aslFileOf, boundSteps, type OnboardingStack } from '../../infra/onboarding-stack';
import { boundaryPolicyArn, keyAdminPolicy, orchestratorPolicy, requestBusPolicy, roleTrustPolicy, sharedOperatorKeyPolicy } from '../../lambdas/lib/policies';
import { SHARED_OPERATOR_POLICY_NAME } from '../../lambdas/lib/names';
import { deploymentEnvironment, validateSettings } from '../../lambdas/lib/settings';
import { steps } from '../../lambdas/steps';

interface Synth {
  stack: OnboardingStack;
  template: Template;
  json: any;
  outdir: string;
  error?: Error;
}

function synth(context: Record<string, unknown>): Synth {
  const outdir = mkdtempSync(path.join(tmpdir(), 'msf-cmk-cdk-'));
  const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': [], ...context } });
  const stack = buildApp(app);
  let error: Error | undefined;
  try {
    app.synth();
  } catch (e) {
    error = e as Error; // cdk-nag findings; asserted below, with the report
  }
  const json = JSON.parse(readFileSync(path.join(outdir, `${STACK_NAME}.template.json`), 'utf8'));
  return { stack, template: Template.fromJSON(json), json, outdir, error };
}

/** CloudFormation values as readable strings: `${AWS::AccountId}`, `${Logical.Arn}`, joins concatenated. */
function flat(v: any): any {
  if (Array.isArray(v)) return v.map(flat);
  if (v === null || typeof v !== 'object') return v;
  if ('Ref' in v) return `\${${v.Ref}}`;
  if ('Fn::GetAtt' in v) return `\${${v['Fn::GetAtt'].join('.')}}`;
  if ('Fn::Join' in v) return (v['Fn::Join'][1] as unknown[]).map(flat).join(v['Fn::Join'][0]);
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, flat(x)]));
}
const pseudo = { partition: '${AWS::Partition}', account: '${AWS::AccountId}', region: '${AWS::Region}' };

const resources = (s: Synth, type: string): [string, any][] =>
  Object.entries(s.json.Resources).filter(([, r]: [string, any]) => r.Type === type) as [string, any][];
const logicalId = (s: Synth, construct: { node: { defaultChild?: unknown } }) => s.stack.getLogicalId(construct.node.defaultChild as CfnFunction);

/** Every statement granted to a role: inline policies, and AWS::IAM::Policy resources attached to it. */
function statementsOf(s: Synth, roleId: string): unknown[] {
  const role = s.json.Resources[roleId];
  const inline = (role.Properties.Policies ?? []).flatMap((p: any) => p.PolicyDocument.Statement);
  const attached = resources(s, 'AWS::IAM::Policy')
    .filter(([, p]) => flat(p.Properties.Roles).includes(`\${${roleId}}`))
    .flatMap(([, p]) => p.PolicyDocument?.Statement ?? p.Properties.PolicyDocument.Statement);
  return flat([...inline, ...attached]);
}
/** Statements as comparable strings: keys sorted (CloudFormation's order is not ours), then the list sorted. */
const canonical = (x: unknown): unknown =>
  Array.isArray(x)
    ? x.map(canonical)
    : x && typeof x === 'object'
      ? Object.fromEntries(
          Object.entries(x)
            .sort()
            .map(([k, v]) => [k, canonical(v)]),
        )
      : x;
const sortedJson = (items: unknown[]) => items.map((x) => JSON.stringify(canonical(x))).sort();

/** Task Resources of an ASL definition, nested states included. */
function taskResources(definition: any): string[] {
  return Object.values<any>(definition.States).flatMap((state) => [
    ...(state.Type === 'Task' ? [state.Resource] : []),
    ...(state.Branches ?? []).flatMap(taskResources),
    ...[state.Iterator, state.ItemProcessor].filter(Boolean).flatMap(taskResources),
  ]);
}

let plain: Synth;
let auto: Synth;
const requester = 'arn:aws:iam::111122223333:role/platform/onboarding-requester';
const autoSettings = {
  rolePath: '/teams/flink/',
  operatorRolePrefix: 'flink-operator-',
  aliasPrefix: 'flink/',
  requestBusName: 'flink-onboarding',
  requestPrincipals: `${requester},444455556666`,
  defaultBusRequests: 'true',
  sharedOperatorRoleArn: 'arn:aws:iam::111122223333:role/pipelines/flink-deployer',
};

beforeAll(() => {
  plain = synth({});
  auto = synth({ autoOnboarding: 'true', logLevel: 'DEBUG', dailyAudit: 'true', hourlySweep: 'true', securityHubFindings: 'true', ...autoSettings });
});
afterAll(() => {
  for (const s of [plain, auto]) if (s) rmSync(s.outdir, { recursive: true, force: true });
});

/** Every state machine of the stack: onboarding, one per day-two operation, and the cleanup. */
const MACHINES: [string, string][] = [
  ['OnboardApplication', ASL_FILE],
  ...Object.entries(DAY_TWO_MACHINES).map(([op, m]) => [m.id, aslFileOf(op)] as [string, string]),
  ['Cleanup', aslFileOf('cleanup')],
  ['Sweep', aslFileOf('sweep')],
  ['OnboardFleet', aslFileOf('onboard-fleet')],
];
const machineOf = (s: Synth, id: string) =>
  s.json.Resources[
    s.stack.getLogicalId(
      (id === 'OnboardApplication'
        ? s.stack.stateMachine
        : [...Object.values(s.stack.operationMachines), s.stack.cleanupMachine, s.stack.sweepMachine, s.stack.fleetMachine].find((m) => m.node.id === id)!
      ).node.defaultChild as CfnFunction,
    )
  ];

describe.each(MACHINES)('state machine %s', (id, aslFile) => {
  it('deploys the ASL file unchanged, with a substitution for every placeholder', () => {
    // Prepare
    const machine = machineOf(plain, id);
    const asl = readFileSync(aslFile, 'utf8');
    const placeholders = [...new Set([...asl.matchAll(/\$\{(\w+)\}/g)].map((m) => m[1]))].sort();
    // Act
    const deployed = readFileSync(path.join(plain.outdir, `asset.${machine.Properties.DefinitionS3Location.Key}`), 'utf8');
    // Assess
    expect(deployed).toBe(asl);
    expect(Object.keys(machine.Properties.DefinitionSubstitutions).sort()).toEqual(placeholders);
  });

  it("binds every Task to this stack's function for that step, as the steps table says", () => {
    // Prepare
    const machine = machineOf(plain, id);
    const substitutions: Record<string, string> = flat(machine.Properties.DefinitionSubstitutions);
    const definition = JSON.parse(readFileSync(aslFile, 'utf8').replace(/\$\{(\w+)\}/g, (_, name) => substitutions[name]));
    const bound = boundSteps(aslFile);
    const expected = bound.map((name) => `\${${logicalId(plain, plain.stack.functions[name])}.Arn}`);
    // Act
    const tasks = taskResources(definition).filter((r) => r !== START_EXECUTION_SYNC);
    // Assess
    expect(bound.filter((name) => !steps[name])).toEqual([]);
    expect([...new Set(tasks)].sort()).toEqual([...expected].sort());
    for (const name of bound) expect(substitutions[`${name}FunctionArn`]).toBe(`\${${logicalId(plain, plain.stack.functions[name])}.Arn}`);
  });

  it('is a STANDARD machine that logs ALL events to a log group with retention, and is traced', () => {
    // Prepare
    const machine = machineOf(plain, id);
    // Act
    const logGroupId = machine.Properties.LoggingConfiguration.Destinations[0].CloudWatchLogsLogGroup.LogGroupArn['Fn::GetAtt'][0];
    // Assess
    expect(machine.Properties).toMatchObject({
      StateMachineType: 'STANDARD',
      LoggingConfiguration: { Level: 'ALL', IncludeExecutionData: true },
      TracingConfiguration: { Enabled: true },
    });
    expect(plain.json.Resources[logGroupId].Properties.RetentionInDays).toBeGreaterThan(0);
  });

  it('may invoke exactly the functions its Tasks name and no other function', () => {
    // Prepare
    const machine = machineOf(plain, id);
    const roleId = machine.Properties.RoleArn['Fn::GetAtt'][0];
    // Act
    const lambdaStatements = (statementsOf(plain, roleId) as any[]).filter((s) => [s.Action].flat().some((a: string) => a.startsWith('lambda:')));
    // Assess
    expect(lambdaStatements.map((st) => ({ ...st, Resource: [st.Resource].flat() }))).toEqual([
      {
        Sid: 'InvokeStepFunctions',
        Effect: 'Allow',
        Action: 'lambda:InvokeFunction',
        Resource: boundSteps(aslFile).map((name) => `\${${logicalId(plain, plain.stack.functions[name])}.Arn}`),
      },
    ]);
  });
});

describe('the fleet state machine', () => {
  it('may start only the onboarding state machine, and follow and stop only its executions', () => {
    // Prepare
    const machine = machineOf(plain, 'OnboardFleet');
    const onboarding = logicalId(plain, plain.stack.stateMachine);
    // Act
    const statements = (statementsOf(plain, machine.Properties.RoleArn['Fn::GetAtt'][0]) as any[]).filter((st) =>
      [st.Action].flat().some((a: string) => a.startsWith('states:') || a.startsWith('events:')),
    );
    // Assess
    expect(statements).toEqual([
      { Effect: 'Allow', Action: 'states:StartExecution', Resource: `\${${onboarding}}` },
      {
        Sid: 'FollowChildExecutions',
        Effect: 'Allow',
        Action: ['states:DescribeExecution', 'states:StopExecution'],
        Resource: `arn:\${AWS::Partition}:states:\${AWS::Region}:\${AWS::AccountId}:execution:\${${onboarding}.Name}:*`,
      },
      {
        Sid: 'ChildExecutionEvents',
        Effect: 'Allow',
        Action: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
        Resource: `arn:\${AWS::Partition}:events:\${AWS::Region}:\${AWS::AccountId}:rule/StepFunctionsGetEventsForStepFunctionsExecutionRule`,
      },
    ]);
    expect(machine.Properties.DefinitionSubstitutions.OnboardApplicationStateMachineArn).toEqual({ Ref: onboarding });
  });
});

describe('step functions', () => {
  it('deploys one function per entry of the steps table, and every one serves some state machine', () => {
    expect(Object.keys(plain.stack.functions).sort()).toEqual(Object.keys(steps).sort());
    const used = new Set(MACHINES.flatMap(([, file]) => boundSteps(file)));
    expect(Object.keys(steps).filter((name) => !used.has(name))).toEqual([]);
    expect(
      resources(plain, 'AWS::Lambda::Function')
        .map(([id]) => `\${${id}.Arn}`)
        .sort(),
    ).toEqual(
      Object.keys(steps)
        .map((name) => `\${${logicalId(plain, plain.stack.functions[name])}.Arn}`)
        .sort(),
    );
  });
});

describe('step functions and the orchestrator role', () => {
  it('runs every step on Node.js 22, arm64, one SDK attempt, traced, logging to its own log group, as the orchestrator, from one shared code asset', () => {
    // Prepare
    const roleId = plain.stack.getLogicalId(plain.stack.orchestratorRole.node.defaultChild as CfnRole);
    // Act
    const functions = resources(plain, 'AWS::Lambda::Function');
    // Assess
    expect(functions).toHaveLength(Object.keys(steps).length);
    const logGroups = new Set<string>();
    for (const [, fn] of functions) {
      expect(fn.Properties).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        Environment: { Variables: { AWS_MAX_ATTEMPTS: '1' } },
        TracingConfig: { Mode: 'Active' },
        Role: { 'Fn::GetAtt': [roleId, 'Arn'] },
      });
      const step = Object.values(steps).find(
        (st) => fn.Properties.Description.startsWith(`MSF CMK onboarding step `) && fn.Properties.Handler === `${st.entry}.handler`,
      );
      expect(step).toBeDefined();
      const logGroupId = fn.Properties.LoggingConfig.LogGroup.Ref;
      expect(plain.json.Resources[logGroupId].Properties.RetentionInDays).toBeGreaterThan(0);
      logGroups.add(logGroupId);
    }
    expect(logGroups.size).toBe(functions.length);
    // One esbuild run, one asset: every function has the same code.
    expect(new Set(functions.map(([, fn]) => JSON.stringify(fn.Properties.Code))).size).toBe(1);
  });

  it.each([
    ['default settings', () => plain, '/msf-cmk/', false, undefined],
    ['a rolePath, securityHubFindings and a shared operator from the context', () => auto, autoSettings.rolePath, true, autoSettings.sharedOperatorRoleArn],
  ])('grants the orchestrator exactly orchestratorPolicy(), step logging and X-Ray (%s)', (_, get, rolePath, securityHubFindings, sharedOperatorRoleArn) => {
    // Prepare
    const s = get();
    const roleId = s.stack.getLogicalId(s.stack.orchestratorRole.node.defaultChild as CfnRole);
    const logGroupArns = Object.keys(steps).map(
      (name) => `\${${s.stack.getLogicalId(s.stack.node.findChild(`${name}Logs`).node.defaultChild as CfnFunction)}.Arn}`,
    );
    const expected = [
      ...orchestratorPolicy({
        scope: pseudo,
        rolePath,
        keyAdminRoleArn: `\${${s.stack.getLogicalId(s.stack.keyAdminRole)}.Arn}`,
        lockTableName: 'msf-cmk-onboarding-locks',
        permissionsBoundaryArn: boundaryPolicyArn(pseudo),
        securityHubFindings,
        sharedOperatorRoleArn,
      }).Statement,
      { Sid: 'WriteStepLogs', Effect: 'Allow', Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Resource: logGroupArns },
      { Effect: 'Allow', Action: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'], Resource: '*' },
    ];
    // Act
    const granted = statementsOf(s, roleId);
    // Assess
    expect(sortedJson(granted)).toEqual(sortedJson(expected));
    expect(s.json.Resources[roleId].Properties.ManagedPolicyArns).toBeUndefined();
  });

  it('gives the orchestrator no KMS action and only reads of Managed Flink, and keeps its role outside the path it manages', () => {
    // Prepare
    const roleId = plain.stack.getLogicalId(plain.stack.orchestratorRole.node.defaultChild as CfnRole);
    // Act
    const actions = (statementsOf(plain, roleId) as any[]).flatMap((s) => [s.Action].flat());
    // Assess
    expect(
      actions.filter((a: string) => /^kms:/.test(a) || a === '*' || (/^kinesisanalytics:/.test(a) && !/^kinesisanalytics:(Describe|List)/.test(a))),
    ).toEqual([]);
    expect(plain.json.Resources[roleId].Properties.Path).toBeUndefined(); // "/", not "/msf-cmk/"
    expect(plain.json.Resources[roleId].Properties.AssumeRolePolicyDocument.Statement).toEqual([
      { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' } },
    ]);
  });
});

describe('deployment: settings and shared personas', () => {
  it.each([
    ['default settings', () => plain, {}],
    [
      'settings from the context',
      () => auto,
      {
        ...autoSettings,
        autoOnboarding: true,
        requestPrincipals: [requester, '444455556666'],
        defaultBusRequests: true,
        dailyAudit: true,
        hourlySweep: true,
        securityHubFindings: true,
      },
    ],
  ])("gives every function the deployment's settings and personas in its environment (%s)", (_, get, context) => {
    // Prepare
    const s = get();
    const ref = (construct: { node: { defaultChild?: unknown } } | { logicalId: string }) =>
      `\${${'logicalId' in construct ? s.stack.getLogicalId(construct as never) : s.stack.getLogicalId(construct.node.defaultChild as CfnRole)}.Arn}`;
    const expected = deploymentEnvironment({
      ...validateSettings(context),
      orchestratorRoleArn: ref(s.stack.orchestratorRole),
      keyAdminRoleArn: `\${${s.stack.getLogicalId(s.stack.keyAdminRole)}.Arn}`,
      permissionsBoundaryArn: boundaryPolicyArn(pseudo),
    });
    // Act
    const environments = resources(s, 'AWS::Lambda::Function').map(([, fn]) => flat(fn.Properties.Environment.Variables));
    // Assess
    for (const env of environments) expect(env).toMatchObject(expected);
  });

  it.each([
    ['INFO by default', () => plain, 'INFO'],
    ["the context's logLevel", () => auto, 'DEBUG'],
  ])('gives every function its Powertools service name and log level, and traces without response bodies (%s)', (_, get, level) => {
    // Act
    const environments = resources(get(), 'AWS::Lambda::Function').map(([, fn]) => fn.Properties.Environment.Variables);
    // Assess
    expect(environments.length).toBe(Object.keys(steps).length);
    for (const env of environments)
      expect(env).toMatchObject({ POWERTOOLS_SERVICE_NAME: 'msf-cmk-orchestrator', POWERTOOLS_LOG_LEVEL: level, POWERTOOLS_TRACER_CAPTURE_RESPONSE: 'false' });
  });

  it('deploys the key administrator, trusted by the orchestrator only, with keyAdminPolicy, outside rolePath, retained with the keys that name it', () => {
    // Prepare
    const id = plain.stack.getLogicalId(plain.stack.keyAdminRole);
    const orchestratorId = plain.stack.getLogicalId(plain.stack.orchestratorRole.node.defaultChild as CfnRole);
    // Act
    const role = plain.json.Resources[id];
    // Assess
    expect(role.DeletionPolicy).toBe('Retain');
    expect(role.UpdateReplacePolicy).toBe('Retain');
    expect(flat(role.Properties)).toEqual({
      RoleName: 'MsfCmkKeyAdmin',
      Description: expect.any(String),
      AssumeRolePolicyDocument: roleTrustPolicy({ trustedPrincipalArns: [`\${${orchestratorId}.Arn}`] }),
      Policies: [{ PolicyName: 'key-administration', PolicyDocument: keyAdminPolicy({ scope: pseudo, aliasPrefix: 'msf-cmk/' }) }],
    });
  });

  it('attaches one constant CMK policy to the shared operator role only with sharedOperatorRoleArn', () => {
    // Act
    const shared = (x: Synth) => resources(x, 'AWS::IAM::ManagedPolicy').filter(([, r]) => r.Properties.ManagedPolicyName === SHARED_OPERATOR_POLICY_NAME);
    // Assess
    expect(shared(plain)).toEqual([]);
    expect(shared(auto).map(([, r]) => flat(r.Properties))).toEqual([
      {
        ManagedPolicyName: SHARED_OPERATOR_POLICY_NAME,
        Description: expect.any(String),
        Path: '/',
        Roles: ['flink-deployer'],
        PolicyDocument: sharedOperatorKeyPolicy({ scope: pseudo }),
      },
    ]);
  });

  it('keeps lock items after release: no TTL on the lock table', () => {
    const [[, table]] = resources(plain, 'AWS::DynamoDB::Table');
    expect(table.Properties.TimeToLiveSpecification).toBeUndefined();
    expect(table.Properties.TableName).toBe('msf-cmk-onboarding-locks');
  });
});

describe('EventBridge rules', () => {
  const rules = (s: Synth) => Object.fromEntries(resources(s, 'AWS::Events::Rule').map(([id, r]) => [id.replace(/[0-9A-F]{8}$/, ''), r.Properties]));
  const target = { Arn: { Ref: expect.any(String) }, DeadLetterConfig: { Arn: { 'Fn::GetAtt': [expect.any(String), 'Arn'] } } };

  it('starts an execution from each request event on the request bus with its detail as input, retrying into a dead-letter queue', () => {
    // Prepare
    const busId = plain.stack.getLogicalId(plain.stack.requestBus.node.defaultChild as CfnFunction);
    // Act
    const { OnboardingRequestRule: rule, KeyGuardRule: _guard, CleanupRule: _cleanup, ...others } = rules(plain);
    const operations = Object.fromEntries(Object.entries(DAY_TWO_MACHINES).map(([op, m]) => [`${m.id}RequestRule`, op]));
    // Assess
    // No auto-onboarding and no default-bus requests without the context flags; the day-two operations' requests are on the request bus too.
    expect(Object.keys(others).sort()).toEqual(Object.keys(operations).sort());
    expect(rule.EventBusName).toEqual({ Ref: busId });
    for (const [ruleId, op] of Object.entries(operations)) {
      expect(others[ruleId].EventPattern).toEqual(operationRequestPattern(op as keyof typeof OPERATION_REQUEST_DETAIL_TYPES));
      expect(others[ruleId].EventBusName).toEqual({ Ref: busId });
      expect(others[ruleId].Targets).toEqual([expect.objectContaining({ ...target, InputPath: REQUEST_INPUT_PATH })]);
    }
    expect(rule.EventPattern).toEqual(onboardingRequestPattern());
    expect(rule.Targets).toEqual([
      expect.objectContaining({ ...target, InputPath: REQUEST_INPUT_PATH, RetryPolicy: { MaximumRetryAttempts: 8, MaximumEventAgeInSeconds: 7200 } }),
    ]);
  });

  it('lets only the account root put request events on the request bus by default, so only principals its IAM policies allow', () => {
    // Act
    const [[, bus], ...more] = resources(plain, 'AWS::Events::EventBus');
    // Assess
    expect(more).toEqual([]);
    expect(bus.Properties.Name).toBe('msf-cmk-onboarding-requests');
    expect(flat(bus.Properties.Policy)).toEqual(requestBusPolicy({ scope: pseudo, busName: 'msf-cmk-onboarding-requests' }));
    expect(flat(bus.Properties.Policy).Statement).toEqual([
      {
        Sid: 'AllowOnboardingRequests',
        Effect: 'Allow',
        Principal: { AWS: 'arn:${AWS::Partition}:iam::${AWS::AccountId}:root' },
        Action: 'events:PutEvents',
        Resource: 'arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/msf-cmk-onboarding-requests',
      },
    ]);
  });

  it('names exactly the requestPrincipals in the bus policy and refuses everyone else; defaultBusRequests adds the default-bus rule', () => {
    // Prepare
    const busId = auto.stack.getLogicalId(auto.stack.requestBus.node.defaultChild as CfnFunction);
    // Act
    const [[, bus]] = resources(auto, 'AWS::Events::EventBus');
    const { OnboardingRequestRule: onBus, DefaultBusRequestRule: onDefault } = rules(auto);
    // Assess
    expect(flat(bus.Properties.Policy)).toEqual(requestBusPolicy({ scope: pseudo, busName: 'flink-onboarding', principals: [requester, '444455556666'] }));
    expect(flat(bus.Properties.Policy).Statement[1]).toMatchObject({
      Effect: 'Deny',
      Condition: { ArnNotEquals: { 'aws:PrincipalArn': requester }, StringNotEquals: { 'aws:PrincipalAccount': '444455556666' } },
    });
    expect(onBus.EventBusName).toEqual({ Ref: busId });
    expect(onDefault.EventBusName).toBeUndefined();
    expect([onDefault.EventPattern, onDefault.Targets[0].InputPath]).toEqual([onboardingRequestPattern(), REQUEST_INPUT_PATH]);
  });

  it("starts the cleanup of an onboarding, move, revert or rotation that was stopped or timed out (not of an audit), with that execution's ARN as its only input", () => {
    // Act
    const { CleanupRule: rule } = rules(plain);
    const ref = (m: { node: { defaultChild?: unknown } }) => ({ Ref: plain.stack.getLogicalId(m.node.defaultChild as CfnFunction) });
    const { audit, ...changing } = plain.stack.operationMachines;
    // Assess
    expect(rule.EventBusName).toBeUndefined();
    expect(rule.EventPattern.detail.stateMachineArn).toEqual(expect.arrayContaining([plain.stack.stateMachine, ...Object.values(changing)].map(ref)));
    expect(rule.EventPattern.detail.stateMachineArn).toHaveLength(4);
    expect(rule.EventPattern.detail.stateMachineArn).not.toContainEqual(ref(audit));
    expect(rule.EventPattern).toEqual(endedWithoutCatchPattern(rule.EventPattern.detail.stateMachineArn));
    expect(rule.EventPattern.detail.status).toEqual(['ABORTED', 'TIMED_OUT']);
    expect(rule.Targets).toEqual([
      expect.objectContaining({
        ...target,
        InputTransformer: { InputPathsMap: { 'detail-executionArn': '$.detail.executionArn' }, InputTemplate: '{"executionArn":<detail-executionArn>}' },
      }),
    ]);
    expect(rule.Targets[0].Arn.Ref).toBe(plain.stack.getLogicalId(plain.stack.cleanupMachine.node.defaultChild as CfnFunction));
  });

  it('guards the keys: a KMS call or event that can hurt a key starts an audit of the whole account', () => {
    // Act
    const { KeyGuardRule: rule } = rules(plain);
    // Assess
    expect(rule.EventPattern).toEqual(keyGuardPattern());
    expect(rule.Targets).toEqual([expect.objectContaining({ ...target, Input: '{}' })]);
    expect(rule.Targets[0].Arn.Ref).toBe(plain.stack.getLogicalId(plain.stack.operationMachines.audit.node.defaultChild as CfnFunction));
  });

  it('audits the whole account daily only with dailyAudit, through an EventBridge Scheduler schedule on the audit machine', () => {
    // Act
    const schedules = (s: Synth) => resources(s, 'AWS::Scheduler::Schedule');
    const [, schedule] = schedules(auto).find(([id]) => id.startsWith('DailyAuditSchedule'))!;
    // Assess
    expect(schedules(plain)).toEqual([]);
    expect(schedule.Properties).toMatchObject({
      ScheduleExpression: 'rate(1 day)',
      State: 'ENABLED',
      Target: { Input: '{}', RetryPolicy: { MaximumRetryAttempts: 3 } },
    });
    expect(flat(schedule.Properties.Target.Arn)).toBe(`\${${auto.stack.getLogicalId(auto.stack.operationMachines.audit.node.defaultChild as CfnFunction)}}`);
  });

  it('sweeps hourly only with hourlySweep, through an EventBridge Scheduler schedule on the read-only sweep machine', () => {
    // Act
    const sweeps = (s: Synth) => resources(s, 'AWS::Scheduler::Schedule').filter(([id]) => id.startsWith('HourlySweepSchedule'));
    const [[, schedule]] = sweeps(auto);
    // Assess
    expect(sweeps(plain)).toEqual([]);
    expect(schedule.Properties).toMatchObject({ ScheduleExpression: 'rate(1 hour)', State: 'ENABLED', Target: { Input: '{}' } });
    expect(flat(schedule.Properties.Target.Arn)).toBe(`\${${auto.stack.getLogicalId(auto.stack.sweepMachine.node.defaultChild as CfnFunction)}}`);
  });

  it('onboards created applications only with autoOnboarding, excluding the operator of the deployment', () => {
    // Act
    const { AutoOnboardingRule: rule } = rules(auto);
    // Assess
    expect(flat(rule.EventPattern)).toEqual(
      autoOnboardingPattern({ ...pseudo, operatorRolePrefix: autoSettings.operatorRolePrefix, sharedOperatorRoleArn: autoSettings.sharedOperatorRoleArn }),
    );
    const transformer = autoOnboardingInput();
    expect(rule.Targets).toEqual([
      expect.objectContaining({
        ...target,
        InputTransformer: { InputPathsMap: transformer.inputPathsMap, InputTemplate: transformer.inputTemplate },
        RetryPolicy: expect.any(Object),
      }),
    ]);
  });

  it('keeps failed deliveries in an encrypted dead-letter queue that refuses unencrypted transport and accepts only these rules', () => {
    // Prepare
    const [[queueId, queue]] = resources(auto, 'AWS::SQS::Queue');
    const [[, queuePolicy]] = resources(auto, 'AWS::SQS::QueuePolicy');
    // Act
    const statements = flat(queuePolicy.Properties.PolicyDocument.Statement);
    // Assess
    expect(queue.Properties.SqsManagedSseEnabled).toBe(true);
    expect(statements).toEqual(
      expect.arrayContaining([expect.objectContaining({ Effect: 'Deny', Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]),
    );
    const senders = statements.filter((s: any) => s.Action === 'sqs:SendMessage').map((s: any) => s.Condition.ArnEquals['aws:SourceArn']);
    const ruleArns = resources(auto, 'AWS::Events::Rule').map(([id]) => `\${${id}.Arn}`);
    expect(senders.sort()).toEqual(ruleArns.sort());
    expect(statements.every((s: any) => s.Resource === `\${${queueId}.Arn}`)).toBe(true);
  });
});

describe('cdk-nag AwsSolutions', () => {
  it.each([
    ['default settings', () => plain],
    ['auto-onboarding', () => auto],
  ])('reports no unacknowledged finding, and a reason for every acknowledged one (%s)', (_, get) => {
    // Prepare
    const s = get();
    // Act
    const report = JSON.parse(readFileSync(path.join(s.outdir, 'validation-report.json'), 'utf8'));
    const [nag] = report.pluginReports.filter((r: any) => r.pluginName === 'AwsSolutions');
    // Assess
    expect(s.error).toBeUndefined();
    expect(nag.violations).toEqual([]);
    expect(nag.conclusion).toBe('success');
    for (const v of nag.suppressedViolations) expect(v.reason.length).toBeGreaterThan(40);
  });
});
