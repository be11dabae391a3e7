/**
 * The workflow's state as it flows through the ASL: the validated input (`config`), where the run happens
 * (`context`), the ledger of decided changes (`ledger`, one Decision per step, written before that step's
 * apply runs), and one result per step, each merged by that step's ResultPath.
 */
import type { Change, Decision, UndoResult } from './changes';
import type { Context } from './names';
import type { EncryptionConfig } from './reads';

export type { Context } from './names';
export type { EncryptionConfig } from './reads';

/** The execution input after validation and defaults (statemachine/input.schema.json): per application only. */
export interface Config {
  /** Which state machine runs (set by ValidateInput from the machine, never by the input). */
  operation: Operation;
  applicationName: string;
  /** `plan`: every step finds and decides; nothing is applied, and the run ends with the change list. */
  mode: 'apply' | 'plan';
  createApplication?: { runtimeEnvironment: string; serviceExecutionRoleArn: string; applicationDescription?: string };
  keyId?: string;
  tags: Record<string, string>;
  /** rotate-key: new material now (on-demand, the default), or KMS's automatic rotation set on or off. */
  rotation?: RotationMode;
  /** rotate-key with rotation "automatic": KMS's period, 90-2560 days (KMS's default 365). */
  rotationPeriodInDays?: number;
  /** rotate-key: restart a RUNNING application after an on-demand rotation, so it uses the new material (default true). */
  restart?: boolean;
}

export type RotationMode = 'on-demand' | 'automatic' | 'off';

/** Every forward step that changes something, across the operations. */
export const CHANGING_STEPS = [
  'EnsureOperatorRole',
  'EnsureApplication',
  'CreateKey',
  'GrantOperatorKeyAccess',
  'SwitchApplicationToCmk',
  'SwitchApplicationToAwsOwnedKey',
  'RemoveOperatorKeyAccess',
  'RotateKeyOnDemand',
  'SetAutomaticRotation',
  'RestartApplication',
] as const;
export type StepName = (typeof CHANGING_STEPS)[number];
export type Ledger = Partial<Record<StepName, Decision>>;

/**
 * The operations, each one state machine (statemachine/<operation>.asl.json), and the states its run passes
 * in order with what each leaves: the changing steps (decided first, in this order, then applied) and the
 * states after them. The first state whose result is missing is where a failed run stopped.
 */
const ONBOARDING_STATES = [
  ['EnsureOperatorRole', (s: WorkflowState) => s.operator],
  ['EnsureApplication', (s: WorkflowState) => s.application],
  ['CreateKey', (s: WorkflowState) => s.key],
  ['GrantOperatorKeyAccess', (s: WorkflowState) => s.operatorKeyAccess],
  ['SwitchApplicationToCmk', (s: WorkflowState) => s.switch],
  ['CheckUpdate', (s: WorkflowState) => s.switch?.poll.done || undefined],
  ['VerifyEncryption', (s: WorkflowState) => s.report],
] as const;

export const OPERATIONS = {
  'onboard-application': ONBOARDING_STATES,
  // Facts §5 "CMK#1 → CMK#2": onboarding's steps, with CreateKey making (or adopting) a second key.
  'move-key': ONBOARDING_STATES,
  // next-capabilities §1.2: new key material for the same key ARN (or KMS's automatic rotation set), then a
  // RUNNING application restarted, because Managed Flink uses new material only after a restart.
  'rotate-key': [
    ['RotateKeyOnDemand', (s) => s.rotation],
    ['SetAutomaticRotation', (s) => s.automaticRotation],
    ['RestartApplication', (s) => s.restart],
    ['CheckRestart', (s) => s.restart?.poll.done || undefined],
    ['VerifyRotation', (s) => s.report],
  ],
  // Facts §5 "CMK → AOK": the operator keeps its CMK rights through the switch and loses them only after it.
  'revert-to-aws-owned-key': [
    ['SwitchApplicationToAwsOwnedKey', (s) => s.switch],
    ['CheckUpdate', (s) => s.switch?.poll.done || undefined],
    ['RemoveOperatorKeyAccess', (s) => s.operatorKeyRemoval],
    ['VerifyAwsOwnedKey', (s) => s.report],
  ],
} satisfies Record<string, readonly (readonly [string, (s: WorkflowState) => unknown])[]>;
export type Operation = keyof typeof OPERATIONS;

const isChanging = (name: string): name is StepName => (CHANGING_STEPS as readonly string[]).includes(name);
/** The operation's changing steps, in the order they decide and apply. */
export const changingSteps = (s: Pick<WorkflowState, 'config'>): StepName[] =>
  OPERATIONS[s.config.operation ?? 'onboard-application'].map(([n]) => n).filter(isChanging);

export interface LockResult {
  lockId: string;
  owner: string;
  expiresAt: number;
}
export interface OperatorResult {
  roleArn: string;
  roleName: string;
  created: boolean;
}
export interface ApplicationResult {
  applicationArn: string;
  created: boolean;
  status: string;
  versionId: number;
  runtimeEnvironment: string;
  encryption: EncryptionConfig;
}
export interface KeyResult {
  keyArn: string;
  keyId: string;
  aliasName?: string;
  keyState: string;
  created: boolean;
  adopted: boolean;
}
export interface OperatorKeyAccessResult {
  roleName: string;
  policyName: string;
}
/** The key a rotation rotates, how many on-demand rotations it had before, and the application as found. */
export interface RotationResult {
  mode: RotationMode;
  keyArn: string;
  keyId: string;
  onDemandBefore: number;
  /** KMS's automatic rotation as found (GetKeyRotationStatus). */
  automatic: AutomaticRotation;
  applicationArn: string;
  applicationStatus: string;
  /** The application's encryption configuration, as DescribeApplication shows it. */
  encryption: EncryptionConfig;
  versionId: number;
  snapshotsEnabled: boolean;
}
/** KMS's automatic rotation setting of a key; the period only when it is enabled. */
export interface AutomaticRotation {
  enabled: boolean;
  periodInDays?: number;
}
/** The restart a rotation asks of a RUNNING application (none for any other). */
export interface RestartResult {
  restarted: boolean;
  operationId?: string;
  poll: PollResult;
}
/** The operator's inline CMK policies a revert removes. */
export interface OperatorKeyRemovalResult {
  roleName: string;
  policyNames: string[];
}
export interface PollResult {
  done: boolean;
  attempt: number;
  waitSeconds: number;
  operationStatus?: string;
  applicationStatus?: string;
}
export interface SwitchResult {
  alreadyOnKey: boolean;
  operationId?: string;
  previousEncryption: EncryptionConfig;
  fromVersionId: number;
  poll: PollResult;
}

/** What Step Functions' Catch puts at ResultPath: the error name and its cause. */
export interface CaughtError {
  Error: string;
  Cause: string;
}

/** The revert of the switch: an update back to the before-image, then a restart if it ran before. */
export interface RevertResult {
  /** Nothing (left) to do: the application shows its before-image, or someone else changed it since. */
  settled: boolean;
  /** How many times RevertApplication acted (an update, then perhaps a start). */
  passes: number;
  operationId?: string;
  poll: PollResult;
  results: UndoResult[];
}

/** What a retired key became. */
export interface KeyRetirement {
  keyArn: string;
  result: 'scheduled-deletion' | 'retained' | 'none';
  deletionDate?: string;
  references?: string[];
}

/** The compensations' results, one per undo, written as each completes. */
export interface UndoState {
  revert?: RevertResult;
  operatorKeyAccess?: UndoResult[];
  /** A cleanup's RestoreOperatorKeyAccess (a revert's own rollback writes it as operatorKeyAccess). */
  operatorKeyRestore?: UndoResult[];
  automaticRotation?: UndoResult[];
  key?: { results: UndoResult[]; retired: KeyRetirement[] };
  application?: UndoResult[];
  operatorRole?: UndoResult[];
}

/** What a cleanup execution cleans (set by ReadEndedExecution; absent in the operations' own runs). */
export interface CleanupOf {
  /** The execution that ended without its Catch. */
  executionArn: string;
  status: string;
  /** This cleanup's own execution. */
  cleanupExecutionArn: string;
  /** The Task state it was in when it ended: its function runs on (Step Functions does not stop it). */
  inFlightTask?: string;
}

export interface WorkflowState {
  config: Config;
  context: Context;
  ledger: Ledger;
  lock?: LockResult;
  operator?: OperatorResult;
  application?: ApplicationResult;
  key?: KeyResult;
  operatorKeyAccess?: OperatorKeyAccessResult;
  operatorKeyRemoval?: OperatorKeyRemovalResult;
  rotation?: RotationResult;
  automaticRotation?: AutomaticRotation;
  restart?: RestartResult;
  switch?: SwitchResult;
  failure?: CaughtError;
  /** The run's report: the last forward state's result. */
  report?: unknown;
  undo?: UndoState;
  rollbackFailure?: CaughtError;
  cleanupOf?: CleanupOf;
}

/** Every change the ledger records, in the order decided (the plan's change list). */
export const ledgerChanges = (s: Pick<WorkflowState, 'ledger' | 'config'>): Change[] => changingSteps(s).flatMap((step) => s.ledger[step]?.changes ?? []);
