/**
 * The onboarding workflow in AWS: one Lambda function per entry of the `steps` table, the state machine
 * from the ASL file with those functions substituted in, and the EventBridge rules that start it.
 * The flow itself lives in the ASL file only (DESIGN conventions 1).
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { ArnFormat, Aws, CfnOutput, Duration, RemovalPolicy, Stack, Stage, Validations, type StackProps } from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import { SfnStateMachine } from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Architecture, Code, Function as LambdaFunction, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { SERVICE_NAME } from '../lambdas/lib/observability';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Schedule, ScheduleExpression, ScheduleTargetInput } from 'aws-cdk-lib/aws-scheduler';
import { StepFunctionsStartExecution } from 'aws-cdk-lib/aws-scheduler-targets';
import { DefinitionBody, LogLevel, StateMachine, StateMachineType } from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { steps } from '../lambdas/steps';
import {
  BOUNDARY_POLICY_NAME,
  boundaryPolicyArn,
  eventBusArn,
  keyAdminPolicy,
  managedRolesBoundary,
  orchestratorPolicy,
  sharedOperatorKeyPolicy,
  requestBusPolicy,
  roleTrustPolicy,
} from '../lambdas/lib/policies';
import { deploymentEnvironment } from '../lambdas/lib/settings';
import { SHARED_OPERATOR_POLICY_NAME } from '../lambdas/lib/names';
import { bundleFunctions, handlerOf } from './functions-bundle';
import {
  OPERATION_REQUEST_DETAIL_TYPES,
  autoOnboardingInput,
  keyGuardPattern,
  autoOnboardingPattern,
  onboardingRequestPattern,
  operationRequestPattern,
  REQUEST_INPUT_PATH,
  endedWithoutCatchPattern,
  type InputTransformer,
} from './event-patterns';
import type { Settings } from './settings';

const ROOT = path.resolve(__dirname, '..');
export const aslFileOf = (operation: string) => path.join(ROOT, 'statemachine', `${operation}.asl.json`);
export const ASL_FILE = aslFileOf('onboard-application');

/** The day-two operations, each its own state machine from its own ASL file, built from the same step functions. */
export const DAY_TWO_MACHINES = {
  audit: {
    id: 'Audit',
    comment:
      'Audits Managed Service for Apache Flink applications and their keys, read-only; the findings (ASFF) are the execution output, and imported into Security Hub with securityHubFindings',
  },
  'rotate-key': { id: 'RotateKey', comment: "Rotates the key material of a Managed Service for Apache Flink application's customer managed key on demand" },
  'move-key': {
    id: 'MoveKey',
    comment: 'Moves one Managed Service for Apache Flink application from its customer managed key to a new one; the old key stays while anything needs it',
  },
  'revert-to-aws-owned-key': {
    id: 'RevertToAwsOwnedKey',
    comment: 'Moves one Managed Service for Apache Flink application from its customer managed key back to the AWS owned key; the key is retained',
  },
} as const;

/** The step names an ASL file's Tasks bind to (`${<Name>FunctionArn}`). */
export const boundSteps = (aslFile: string) => [...new Set([...readFileSync(aslFile, 'utf8').matchAll(/\$\{(\w+)FunctionArn\}/g)].map((m) => m[1]))].sort();

/** The ASL placeholder a step binds to: `${<Name>FunctionArn}`. */
export const substitutionName = (stepName: string) => `${stepName}FunctionArn`;

/** Passes an input transformer through as written, so the deployed one is exactly the pure builder's. */
class InputTransformerInput extends events.RuleTargetInput {
  constructor(private readonly transformer: InputTransformer) {
    super();
  }
  bind(): events.RuleTargetInputProperties {
    return { inputPathsMap: this.transformer.inputPathsMap, inputTemplate: this.transformer.inputTemplate };
  }
}

export interface OnboardingStackProps extends StackProps {
  settings: Settings;
  /** The functions' Powertools log level (CDK context `logLevel`); INFO names every step without a document in it. */
  logLevel?: string;
}

const LOG_LEVELS = ['DEBUG', 'INFO', 'WARN', 'ERROR', 'SILENT'];

export class OnboardingStack extends Stack {
  /** By step name (the keys of the `steps` table). */
  readonly functions: Record<string, LambdaFunction> = {};
  readonly orchestratorRole: iam.Role;
  readonly keyAdminRole: iam.CfnRole;
  readonly lockTable: Table;
  readonly rolesBoundary: iam.ManagedPolicy;
  readonly stateMachine: StateMachine;
  /** The day-two operations' state machines, by operation. */
  readonly operationMachines: Record<string, StateMachine> = {};
  /** Cleans an onboarding that was stopped or timed out (no Catch ran), from that execution's own history. */
  readonly cleanupMachine: StateMachine;
  readonly cleanupRule: events.Rule;
  readonly deadLetterQueue: Queue;
  /** Where onboarding requests go; its resource policy names who may send them. */
  readonly requestBus: events.EventBus;
  readonly requestRule: events.Rule;
  /** Only with `defaultBusRequests`: request events on the default bus, as before the request bus. */
  readonly defaultBusRequestRule?: events.Rule;
  readonly autoOnboardingRule?: events.Rule;
  readonly dailyAuditSchedule?: Schedule;
  /** Reports what stopped executions left, read-only (a lost status-change event, a deployment that was down). */
  readonly sweepMachine: StateMachine;
  /** Onboards a fleet of applications, each through its own OnboardApplication child execution. */
  readonly fleetMachine: StateMachine;
  readonly hourlySweepSchedule?: Schedule;
  readonly keyGuardRule: events.Rule;
  /** Only with `sharedOperatorRoleArn`: that role's one CMK policy, attached by the deployment. */
  readonly sharedOperatorPolicy?: iam.ManagedPolicy;

  constructor(scope: Construct, id: string, props: OnboardingStackProps) {
    super(scope, id, props);
    const { settings } = props;
    const logLevel = (props.logLevel ?? 'INFO').toUpperCase();
    if (!LOG_LEVELS.includes(logLevel)) throw new Error(`Invalid CDK context: logLevel must be one of ${LOG_LEVELS.join(', ')} (got ${props.logLevel})`);

    // One item per application: who holds its lock (DESIGN: one run per application), and the audit of
    // `msf-cmk unlock`. Items are kept after release, so no TTL.
    this.lockTable = new Table(this, 'LockTable', {
      tableName: settings.lockTableName,
      partitionKey: { name: 'lockId', type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      encryption: TableEncryption.AWS_MANAGED,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // The ceiling of every role the workflow creates; outside rolePath, so the orchestrator cannot edit it.
    this.rolesBoundary = new iam.ManagedPolicy(this, 'ManagedRolesBoundary', {
      managedPolicyName: BOUNDARY_POLICY_NAME,
      description: 'Permissions boundary of the operator and key-admin roles the MSF CMK workflow creates',
      document: iam.PolicyDocument.fromJson(managedRolesBoundary()),
    });
    Validations.of(this.rolesBoundary).acknowledge({
      id: 'AwsSolutions::AwsSolutions-IAM5[Action::kinesisanalytics:*]',
      reason:
        'A permissions boundary is a ceiling, not a grant: the roles it bounds get kinesisanalytics only from their own policies, scoped to one application ARN',
    });
    Validations.of(this.rolesBoundary).acknowledge({
      id: 'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
      reason:
        'A permissions boundary is a ceiling, not a grant: it limits the bounded roles to Managed Flink and KMS on any resource, while their own policies and key policies name the resources',
    });
    const here = { partition: Aws.PARTITION, account: Aws.ACCOUNT_ID, region: Aws.REGION };
    // The orchestrator persona (DESIGN §4), shared by every step function: the operator roles' and the key
    // admin's trust policies name exactly this role (one role per function would force them to list every
    // function's). It has no write permission in KMS or Managed Flink. It stays outside rolePath (path "/"),
    // or the rights below would let it rewrite its own policies.
    this.orchestratorRole = new iam.Role(this, 'OrchestratorRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `MSF CMK onboarding orchestrator: manages the operator roles under ${settings.rolePath} and assumes the personas`,
    });
    // The key administrator (facts §2 step 3): a shared persona, so the deployment owns it, not a run. Every
    // key's policy names it, and KMS binds that to the role's unique id: a deleted and re-created role would
    // be a stranger to every key, so it outlives the stack. Outside rolePath: the orchestrator can only assume it.
    this.keyAdminRole = new iam.CfnRole(this, 'KeyAdminRole', {
      roleName: settings.keyAdminRoleName,
      description: 'KMS key administrator for Managed Flink CMK onboarding (no cryptographic use)',
      assumeRolePolicyDocument: roleTrustPolicy({ trustedPrincipalArns: [this.orchestratorRole.roleArn] }),
      policies: [{ policyName: 'key-administration', policyDocument: keyAdminPolicy({ scope: here, aliasPrefix: settings.aliasPrefix }) }],
    });
    this.keyAdminRole.applyRemovalPolicy(RemovalPolicy.RETAIN);
    const keyAdminReasons: Record<string, string> = {
      'Resource::*': 'kms:CreateKey (conditioned to symmetric encryption keys), kms:ListKeys and kms:ListAliases authorize on "*" only',
      'Resource::arn:<AWS::Partition>:kms:<AWS::Region>:<AWS::AccountId>:key/*':
        "Keys are created at run time, one per application; changes are conditioned on the workflow's managed-by tag, and no statement grants cryptographic use",
      [`Resource::arn:<AWS::Partition>:kms:<AWS::Region>:<AWS::AccountId>:alias/${settings.aliasPrefix}*`]:
        "Aliases are created at run time, one per application, and only under the deployment's alias prefix",
    };
    for (const [finding, reason] of Object.entries(keyAdminReasons))
      Validations.of(this.keyAdminRole).acknowledge({ id: `AwsSolutions::AwsSolutions-IAM5[${finding}]`, reason });
    const permissionsBoundaryArn = boundaryPolicyArn(here);
    const orchestratorPolicyResource = new iam.Policy(this, 'OrchestratorPolicy', {
      roles: [this.orchestratorRole],
      document: iam.PolicyDocument.fromJson(
        orchestratorPolicy({
          scope: here,
          rolePath: settings.rolePath,
          keyAdminRoleArn: this.keyAdminRole.attrArn,
          lockTableName: settings.lockTableName,
          permissionsBoundaryArn,
          securityHubFindings: settings.securityHubFindings,
          sharedOperatorRoleArn: settings.sharedOperatorRoleArn,
        }),
      ),
    });
    if (settings.sharedOperatorRoleArn) {
      // Attached by the deployment, so no step ever writes to a role that is not the workflow's own.
      this.sharedOperatorPolicy = new iam.ManagedPolicy(this, 'SharedOperatorKeyPolicy', {
        managedPolicyName: SHARED_OPERATOR_POLICY_NAME,
        description:
          "The shared Managed Flink operator: the workflow's CMKs (tagged managed-by), only through Managed Flink, for an application of this account",
        document: iam.PolicyDocument.fromJson(sharedOperatorKeyPolicy({ scope: here })),
        roles: [iam.Role.fromRoleArn(this, 'SharedOperatorRole', settings.sharedOperatorRoleArn, { mutable: false })],
      });
      Validations.of(this.sharedOperatorPolicy).acknowledge({
        id: 'AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:kms:<AWS::Region>:<AWS::AccountId>:key/*]',
        reason:
          "Keys are created at run time, one per application: every statement needs the workflow's managed-by tag on the key, kms:ViaService and an application encryption context, and each key policy names the one application it serves",
      });
    }
    Validations.of(orchestratorPolicyResource).acknowledge({
      id: `AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:role${settings.rolePath}*]`,
      reason: `The workflow creates one operator role per application at run time, so they cannot be named here; the wildcard is confined to the ${settings.rolePath} path, which the orchestrator's own role is outside of, and every write there requires the managed-roles boundary`,
    });
    Validations.of(orchestratorPolicyResource).acknowledge({
      id: 'AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:kinesisanalytics:<AWS::Region>:<AWS::AccountId>:application/*]',
      reason: 'Read-only (Describe/List) on the applications it decides for, polls and verifies; the applications to onboard are not known at deploy time',
    });
    Validations.of(orchestratorPolicyResource).acknowledge({
      id: 'AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:*]',
      reason:
        "Reads only: states:DescribeExecution (whether a lock's holder has ended, so its lock may be taken over) and states:GetExecutionHistory (an ended execution's ledger, for its cleanup)",
    });
    Validations.of(orchestratorPolicyResource).acknowledge({
      id: 'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
      reason:
        'iam:ListRoles, kinesisanalytics:ListApplications and tag:GetResources authorize on "*" only; all are reads (ListRoles returns no tags or policies)',
    });

    const logGroups: LogGroup[] = [];
    // One asset for every function (infra/functions-bundle.ts); skipped when this synth bundles nothing.
    const code = Code.fromAsset(bundleFunctions(path.join(Stage.of(this)!.outdir, `${this.stackName}-functions`), { bundle: this.bundlingRequired }));
    for (const [name, step] of Object.entries(steps)) {
      const logGroup = new LogGroup(this, `${name}Logs`, { retention: RetentionDays.ONE_MONTH });
      logGroups.push(logGroup);
      this.functions[name] = new LambdaFunction(this, `${name}Function`, {
        description: `MSF CMK onboarding step ${name} (acts as ${step.persona})`,
        code,
        handler: handlerOf(step.entry),
        runtime: Runtime.NODEJS_22_X,
        architecture: Architecture.ARM_64,
        memorySize: 256,
        // Below the ASL's 60 s Task timeout, so a hung call ends in the function's own log.
        timeout: Duration.seconds(50),
        role: this.orchestratorRole,
        logGroup,
        tracing: Tracing.ACTIVE,
        // The ASL owns retries (DESIGN conventions 1): one SDK attempt per call, errors surface by name.
        // The deployment's settings and personas: nothing account-wide comes from an execution input.
        environment: {
          AWS_MAX_ATTEMPTS: '1',
          NODE_OPTIONS: '--enable-source-maps',
          // One JSON line per step invocation (lambdas/lib/observability.ts); X-Ray without response bodies, which hold policies.
          POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
          POWERTOOLS_LOG_LEVEL: logLevel,
          POWERTOOLS_TRACER_CAPTURE_RESPONSE: 'false',
          ...deploymentEnvironment({
            ...settings,
            orchestratorRoleArn: this.orchestratorRole.roleArn,
            keyAdminRoleArn: this.keyAdminRole.attrArn,
            permissionsBoundaryArn,
          }),
        },
      });
      // No step may run before its role has the orchestrator policy.
      this.functions[name].node.addDependency(orchestratorPolicyResource);
      Validations.of(this.functions[name]).acknowledge({
        id: 'AwsSolutions::AwsSolutions-L1',
        reason:
          'Node.js 22 is the chosen runtime: the one the local runner (aws-local-stepfunctions) and the bundling target are tested with; move to 24 together',
      });
    }
    // Written out instead of AWSLambdaBasicExecutionRole: the log groups exist, so streams and events only.
    this.orchestratorRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'WriteStepLogs',
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: logGroups.map((g) => g.logGroupArn),
      }),
    );
    Validations.of(this.orchestratorRole).acknowledge({
      id: 'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
      reason: 'Only the X-Ray statement that active tracing adds: xray:PutTraceSegments and xray:PutTelemetryRecords support no resource but "*"',
    });

    this.stateMachine = this.operationMachine(
      'OnboardApplication',
      ASL_FILE,
      'Moves one Managed Service for Apache Flink application onto a customer managed KMS key',
      'StateMachineLogs',
    );
    for (const [operation, m] of Object.entries(DAY_TWO_MACHINES))
      this.operationMachines[operation] = this.operationMachine(m.id, aslFileOf(operation), m.comment);
    this.fleetMachine = this.operationMachine(
      'OnboardFleet',
      aslFileOf('onboard-fleet'),
      'Onboards a fleet of Managed Service for Apache Flink applications of this account and Region, each through its own OnboardApplication execution, a bounded number at once',
      'OnboardFleetLogs',
      { OnboardApplication: this.stateMachine },
    );
    this.sweepMachine = this.operationMachine(
      'Sweep',
      aslFileOf('sweep'),
      'Reports, read-only, what executions that were stopped or timed out still own because their cleanup never ran or never succeeded',
    );
    this.cleanupMachine = this.operationMachine(
      'Cleanup',
      aslFileOf('cleanup'),
      'Cleans a stopped or timed-out onboarding (no Catch ran) from its own execution history: the same compensations, then its lock',
    );

    this.deadLetterQueue = new Queue(this, 'EventTargetDeadLetterQueue', {
      // SQS-managed SSE: EventBridge can send to it without a key policy naming events.amazonaws.com.
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions::AwsSolutions-SQS3',
      reason:
        'This queue is itself the dead-letter queue of the EventBridge rule targets (cdk-nag only recognises SQS redrive policies); a DLQ of a DLQ would only move the same messages again',
    });
    const startExecution = (input: events.RuleTargetInput, machine = this.stateMachine) =>
      new SfnStateMachine(machine, {
        input,
        deadLetterQueue: this.deadLetterQueue,
        retryAttempts: 8,
        maxEventAge: Duration.hours(2),
      });

    // Who may start an onboarding (issue 13 item 7): a request event's detail is an execution's input, so
    // requests go to their own bus, whose policy names the principals allowed to put events on it. The ARN
    // is built from the name: the bus's own attribute in its policy would be a circular reference.
    this.requestBus = new events.EventBus(this, 'RequestBus', {
      eventBusName: settings.requestBusName,
      description: 'MSF CMK onboarding requests; only the principals its policy names may put events',
    });
    (this.requestBus.node.defaultChild as events.CfnEventBus).policy = requestBusPolicy({
      scope: here,
      busName: settings.requestBusName,
      principals: settings.requestPrincipals,
    });
    const requestTarget = () => startExecution(events.RuleTargetInput.fromEventPath(REQUEST_INPUT_PATH));
    this.requestRule = new events.Rule(this, 'OnboardingRequestRule', {
      description: `Starts an onboarding for each "Onboard Application Requested" event on ${settings.requestBusName}; its detail is the execution input`,
      eventBus: this.requestBus,
      eventPattern: onboardingRequestPattern() as events.EventPattern,
      targets: [requestTarget()],
    });
    if (settings.defaultBusRequests) {
      this.defaultBusRequestRule = new events.Rule(this, 'DefaultBusRequestRule', {
        description:
          'Starts an onboarding for each "Onboard Application Requested" event on the default bus (defaultBusRequests): anyone allowed events:PutEvents there may',
        eventPattern: onboardingRequestPattern() as events.EventPattern,
        targets: [requestTarget()],
      });
    }
    // The day-two operations' requests go to the same bus: the same principals may ask for them.
    for (const [operation, detailType] of Object.entries(OPERATION_REQUEST_DETAIL_TYPES)) {
      new events.Rule(this, `${DAY_TWO_MACHINES[operation as keyof typeof DAY_TWO_MACHINES].id}RequestRule`, {
        description: `Starts ${operation} for each "${detailType}" event on ${settings.requestBusName}; its detail is the execution input`,
        eventBus: this.requestBus,
        eventPattern: operationRequestPattern(operation as keyof typeof OPERATION_REQUEST_DETAIL_TYPES) as events.EventPattern,
        targets: [startExecution(events.RuleTargetInput.fromEventPath(REQUEST_INPUT_PATH), this.operationMachines[operation])],
      });
    }

    if (settings.autoOnboarding) {
      this.autoOnboardingRule = new events.Rule(this, 'AutoOnboardingRule', {
        description: `Onboards every application created in this account and Region, except by the workflow's own operator sessions`,
        eventPattern: autoOnboardingPattern({
          partition: Aws.PARTITION,
          account: Aws.ACCOUNT_ID,
          operatorRolePrefix: settings.operatorRolePrefix,
          sharedOperatorRoleArn: settings.sharedOperatorRoleArn,
        }) as events.EventPattern,
        targets: [startExecution(new InputTransformerInput(autoOnboardingInput()))],
      });
    }

    // A stopped or timed-out run of an operation that changes the account (the audit only reads) ran no
    // Catch: its status-change event starts its cleanup, which reads everything else from its history.
    const changing = [
      this.stateMachine,
      ...Object.entries(this.operationMachines)
        .filter(([op]) => op !== 'audit')
        .map(([, m]) => m),
    ];
    this.cleanupRule = new events.Rule(this, 'CleanupRule', {
      description: 'Starts the cleanup of each onboarding, move, revert or rotation execution that was stopped (ABORTED) or TIMED_OUT, with its execution ARN',
      eventPattern: endedWithoutCatchPattern(changing.map((m) => m.stateMachineArn)) as events.EventPattern,
      targets: [startExecution(events.RuleTargetInput.fromObject({ executionArn: events.EventField.fromPath('$.detail.executionArn') }), this.cleanupMachine)],
    });

    // The guard: a KMS call or event that can hurt a key starts an audit of the account (input {}).
    this.keyGuardRule = new events.Rule(this, 'KeyGuardRule', {
      description:
        'Audits the account when a KMS call or event can hurt a key an application depends on (DisableKey, ScheduleKeyDeletion, PutKeyPolicy, grants, DeleteAlias, KMS CMK Deletion/Rotation)',
      eventPattern: keyGuardPattern() as events.EventPattern,
      targets: [startExecution(events.RuleTargetInput.fromObject({}), this.operationMachines.audit)],
    });

    if (settings.dailyAudit) {
      // The whole account, rotation expected off (the blog's advice): the findings are the execution output.
      this.dailyAuditSchedule = new Schedule(this, 'DailyAuditSchedule', {
        description: 'Audits every Managed Flink application of this account and Region and their keys, read-only',
        schedule: ScheduleExpression.rate(Duration.days(1)),
        target: new StepFunctionsStartExecution(this.operationMachines.audit, {
          input: ScheduleTargetInput.fromObject({}),
          retryAttempts: 3,
          deadLetterQueue: this.deadLetterQueue,
        }),
      });
    }
    if (settings.hourlySweep) {
      // Read-only: its report (the execution output) names each leftover and the cleanup that removes it.
      this.hourlySweepSchedule = new Schedule(this, 'HourlySweepSchedule', {
        description: 'Finds what stopped or timed-out onboardings still own (their cleanup never ran or never succeeded), read-only',
        schedule: ScheduleExpression.rate(Duration.hours(1)),
        target: new StepFunctionsStartExecution(this.sweepMachine, {
          input: ScheduleTargetInput.fromObject({}),
          retryAttempts: 3,
          deadLetterQueue: this.deadLetterQueue,
        }),
      });
    }

    // What docs/operations.md tells operators to look up.
    new CfnOutput(this, 'StateMachineArn', { value: this.stateMachine.stateMachineArn });
    for (const [operation, machine] of Object.entries(this.operationMachines)) {
      new CfnOutput(this, `${DAY_TWO_MACHINES[operation as keyof typeof DAY_TWO_MACHINES].id}StateMachineArn`, {
        value: machine.stateMachineArn,
        description: `The ${operation} state machine`,
      });
    }
    new CfnOutput(this, 'OnboardFleetStateMachineArn', {
      value: this.fleetMachine.stateMachineArn,
      description:
        'Onboards a fleet of applications (input: applicationNames, namePattern, runtimeEnvironment, tag, maxConcurrency, maxConcurrentRestarts, toleratedFailurePercentage, mode)',
    });
    new CfnOutput(this, 'SweepStateMachineArn', {
      value: this.sweepMachine.stateMachineArn,
      description: 'Reports what stopped or timed-out onboardings left (read-only; input {})',
    });
    new CfnOutput(this, 'CleanupStateMachineArn', {
      value: this.cleanupMachine.stateMachineArn,
      description: 'Cleans a stopped or timed-out onboarding: start it with {"executionArn": "<that execution>"} (msf-cmk cleanup)',
    });
    new CfnOutput(this, 'OrchestratorRoleArn', { value: this.orchestratorRole.roleArn, description: 'The principal the operator and key-admin roles trust' });
    new CfnOutput(this, 'KeyAdminRoleArn', {
      value: this.keyAdminRole.attrArn,
      description: "The key administrator every key's policy names (retained with the keys)",
    });
    new CfnOutput(this, 'RequestEventBusName', {
      value: this.requestBus.eventBusName,
      description: 'Send onboarding request events here (EventBusName of each PutEvents entry)',
    });
    new CfnOutput(this, 'RequestEventBusArn', { value: eventBusArn(here, settings.requestBusName) });
    new CfnOutput(this, 'DeadLetterQueueUrl', {
      value: this.deadLetterQueue.queueUrl,
      description: 'Events EventBridge could not deliver to the state machine',
    });
  }

  /**
   * One operation's state machine: its ASL file deployed unchanged, each placeholder bound to that step's
   * function (or, for `${<Name>StateMachineArn}`, to a child state machine it starts), allowed to invoke
   * exactly those functions and start exactly those children, logged and traced.
   */
  private operationMachine(id: string, aslFile: string, comment: string, logsId = `${id}Logs`, children: Record<string, StateMachine> = {}): StateMachine {
    const bound = boundSteps(aslFile).map((name) => [name, this.functions[name]] as const);
    const logs = new LogGroup(this, logsId, {
      // The vendedlogs prefix keeps CloudWatch Logs' resource policy from growing with every log group.
      logGroupName: `/aws/vendedlogs/states/${this.stackName}-${id}`,
      retention: RetentionDays.THREE_MONTHS,
    });
    const machine = new StateMachine(this, id, {
      comment,
      definitionBody: DefinitionBody.fromFile(aslFile),
      definitionSubstitutions: {
        ...Object.fromEntries(bound.map(([name, fn]) => [substitutionName(name), fn.functionArn])),
        ...Object.fromEntries(Object.entries(children).map(([name, child]) => [`${name}StateMachineArn`, child.stateMachineArn])),
      },
      stateMachineType: StateMachineType.STANDARD,
      logs: { destination: logs, level: LogLevel.ALL, includeExecutionData: true },
      tracingEnabled: true,
    });
    // The Tasks name the unqualified function ARNs, so exactly those (no `:*` for versions or aliases).
    machine.addToRolePolicy(
      new iam.PolicyStatement({ sid: 'InvokeStepFunctions', actions: ['lambda:InvokeFunction'], resources: bound.map(([, fn]) => fn.functionArn) }),
    );
    Validations.of(machine).acknowledge({
      id: 'AwsSolutions::AwsSolutions-IAM5[Resource::*]',
      reason:
        'Only what logging and tracing add: the CloudWatch Logs log-delivery actions (logs:CreateLogDelivery, logs:DescribeResourcePolicies, …) and xray:PutTraceSegments/PutTelemetryRecords/GetSamplingRules/GetSamplingTargets support no resource but "*"',
    });
    for (const child of Object.values(children)) {
      // startExecution.sync:2 (the Step Functions developer guide's IAM policy for it): start the child, follow
      // and stop its executions, and the managed rule through which Step Functions learns that one ended.
      child.grantStartExecution(machine);
      machine.addToRolePolicy(
        new iam.PolicyStatement({
          sid: 'FollowChildExecutions',
          actions: ['states:DescribeExecution', 'states:StopExecution'],
          resources: [
            this.formatArn({ service: 'states', resource: 'execution', resourceName: `${child.stateMachineName}:*`, arnFormat: ArnFormat.COLON_RESOURCE_NAME }),
          ],
        }),
      );
      machine.addToRolePolicy(
        new iam.PolicyStatement({
          sid: 'ChildExecutionEvents',
          actions: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
          resources: [this.formatArn({ service: 'events', resource: 'rule', resourceName: 'StepFunctionsGetEventsForStepFunctionsExecutionRule' })],
        }),
      );
    }
    if (Object.keys(children).length)
      Validations.of(machine).acknowledge({
        id: `AwsSolutions::AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:<AWS::Region>:<AWS::AccountId>:execution:<${Stack.of(this).getLogicalId(this.stateMachine.node.defaultChild as never)}.Name>:*]`,
        reason: "The child's executions are created by this very state machine and named by Step Functions: only the state machine part of their ARN is known",
      });
    return machine;
  }
}
