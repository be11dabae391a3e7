/**
 * The sandbox account: state, clock, faults, quotas, identity and authorization, and the service registry.
 * The HTTP server (server.ts) is a thin shell around `Sandbox.handle`.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { AwsError } from './errors';
import { Clock } from './clock';
import { Faults } from './faults';
import { Quotas, type LimitsConfig, type RatesConfig } from './quotas';
import { evaluate, type AuthzResult } from './authz';
import { emptyState, snapshotState, diffState, type PolicyDocument, type SandboxState, type StateChange } from './state';
import { defaultPolicyDocument, findRole } from './lookup';
import type { RestRoute } from './protocols/rest-json';

export interface Principal {
  /** The caller as AWS reports it: `arn:aws:iam::<acct>:root` or `arn:aws:sts::<acct>:assumed-role/<role>/<session>`. */
  arn: string;
  account: string;
  kind: 'root' | 'assumed-role';
  roleArn?: string;
  roleName?: string;
  sessionName?: string;
  /** `aws:userid`: the account id for root, `<RoleId>:<session>` for a role session. */
  userId: string;
  /** The session policy the role session was given (AssumeRole `Policy`). */
  sessionPolicy?: PolicyDocument;
}

/** Async durations of Managed Flink work, in ms of sandbox clock. */
export interface FlinkDurations {
  start: number;
  stop: number;
  update: number;
  /**
   * An update of a RUNNING application: a snapshot, a stop and a start under the new configuration, so
   * longer than `update` on AWS. Unset, it takes `update`.
   */
  restart?: number;
  snapshot: number;
  delete: number;
}

/** How Step Functions runs executions here (services/stepfunctions.ts). */
export interface StepFunctionsOptions {
  /**
   * Wait states and retry intervals last this fraction of what the definition says (default 1, as in
   * AWS; 0 runs them at once). Below 1 a retrier's interval is fixed at IntervalSeconds × timeScale,
   * without backoff.
   */
  timeScale: number;
}

export interface SandboxOptions {
  account?: string;
  region?: string;
  /** Eventual consistency: a new role is invisible to KMS key policies and AssumeRole for this long. */
  iamPropagationDelayMs?: number;
  flinkDurations?: Partial<FlinkDurations>;
  /** Persist the account to this JSON file after every change, and load it at start. */
  stateFile?: string;
  stepFunctions?: Partial<StepFunctionsOptions>;
  /** Resource limits over AWS's defaults, e.g. `{ iam: { RolesPerAccount: 5 } }` (local/sandbox/quotas.ts). */
  limits?: LimitsConfig;
  /** Requests per second over AWS's defaults, e.g. `{ kms: { CreateKey: 50 } }`; `false` turns throttling off. */
  rates?: RatesConfig | false;
}

export interface RequestContext {
  sandbox: Sandbox;
  caller: Principal;
  requestId: string;
  service: string;
  operation: string;
}

export type Handler = (input: any, ctx: RequestContext) => unknown | Promise<unknown>;

export interface Service {
  /** SigV4 signing name: `iam`, `sts`, `kms`, `kinesisanalytics`. */
  name: string;
  protocol: 'json' | 'query' | 'rest-json';
  /** REST-JSON: the method and path of each operation. */
  routes?: RestRoute[];
  /** JSON 1.1 `X-Amz-Target` prefix, e.g. `TrentService`. */
  targetPrefix?: string;
  /** Query protocol XML namespace. */
  xmlns?: string;
  operations: Record<string, Handler>;
  /** Operations that change nothing (for the request log's read/write split). */
  readOnly?: ReadonlySet<string>;
  /** Completes asynchronous work that is due on the sandbox clock. */
  tick?(sandbox: Sandbox): void;
  /** The state was replaced (a restore): drop what was derived from the old one. */
  onRestore?(sandbox: Sandbox): void;
  /**
   * Present when CloudTrail records the service's management calls (cloudtrail.ts). `readOnly`
   * overrides the service's own set where CloudTrail's flag differs, `responseOf` lists the read-only
   * operations whose response CloudTrail records all the same; `resources` names the resources a
   * call touches, resolved before it runs, completed with its result; `response` shapes a result as
   * CloudTrail records it (e.g. KMS's dates).
   */
  cloudTrail?: {
    readOnly?: ReadonlySet<string>;
    responseOf?: ReadonlySet<string>;
    resources?(sandbox: Sandbox, input: any): (result: any) => { accountId: string; type: string; ARN: string }[];
    response?(result: any): unknown;
  };
}

export const ROOT_ACCESS_KEY = 'test';
export const ROOT_SECRET_KEY = 'test';

const ALLOW_ALL: PolicyDocument = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] };

export class Sandbox {
  readonly account: string;
  readonly region: string;
  readonly clock = new Clock();
  readonly faults = new Faults();
  readonly quotas: Quotas;
  readonly services = new Map<string, Service>();
  /** Run when the sandbox closes (e.g. the embedded DynamoDB backend). */
  readonly disposers: (() => Promise<void>)[] = [];
  iamPropagationDelayMs: number;
  flinkDurations: FlinkDurations;
  stepFunctions: StepFunctionsOptions;
  /** Each line a function prints (its log), as it prints it: e.g. `npm start -- --verbose`. */
  lambdaOutput?: (functionName: string, line: string) => void;
  /** The HTTP endpoint once listening (set by startSandbox): where Step Functions points the functions' SDK clients. */
  endpoint?: string;
  state: SandboxState;
  private readonly stateFile?: string;

  constructor(options: SandboxOptions = {}) {
    this.account = options.account ?? '000000000000';
    this.region = options.region ?? 'us-east-1';
    if (!/^\d{12}$/.test(this.account)) throw new Error(`account must be 12 digits (got ${this.account})`);
    this.iamPropagationDelayMs = options.iamPropagationDelayMs ?? 0;
    this.flinkDurations = { start: 0, stop: 0, update: 0, snapshot: 0, delete: 0, ...options.flinkDurations };
    this.stateFile = options.stateFile;
    this.stepFunctions = { timeScale: 1, ...options.stepFunctions };
    this.quotas = new Quotas(this.clock, options.limits, options.rates);
    this.state =
      this.stateFile && existsSync(this.stateFile) ? (JSON.parse(readFileSync(this.stateFile, 'utf8')) as SandboxState) : emptyState(this.account, this.region);
  }

  register(service: Service): this {
    this.services.set(service.name, service);
    return this;
  }

  // ---- state helpers for tests and the control endpoint ----
  snapshot(): SandboxState {
    this.tick();
    return snapshotState(this.state);
  }
  restore(state: SandboxState): void {
    this.state = snapshotState(state);
    for (const s of this.services.values()) s.onRestore?.(this);
  }
  diff(before: SandboxState): StateChange[] {
    return diffState(before, this.snapshot());
  }
  /** Writes the state file, if persistence is on. */
  persist(): void {
    if (this.stateFile) writeFileSync(this.stateFile, JSON.stringify(this.state, null, 2));
  }
  /** Lets every service complete the asynchronous work that is due. */
  tick(): void {
    for (const s of this.services.values()) s.tick?.(this);
  }
  /** Moves the clock forward and completes what became due. */
  advance(ms: number): void {
    this.clock.advance(ms);
    this.tick();
  }

  // ---- identity ----
  get rootArn(): string {
    return `arn:aws:iam::${this.account}:root`;
  }

  rootPrincipal(): Principal {
    return { arn: this.rootArn, account: this.account, kind: 'root', userId: this.account };
  }

  /** The secret and principal behind an access key, or an AWS-shaped error. */
  resolveAccessKey(accessKeyId: string, sessionToken: string | undefined): { secret: string; principal: Principal } {
    if (accessKeyId === ROOT_ACCESS_KEY) return { secret: ROOT_SECRET_KEY, principal: this.rootPrincipal() };
    const session = this.state.sts.sessions[accessKeyId];
    if (!session) throw new AwsError('InvalidClientTokenId', 'The security token included in the request is invalid.', 403);
    if (sessionToken !== session.SessionToken) throw new AwsError('InvalidClientTokenId', 'The security token included in the request is invalid.', 403);
    if (this.clock.now() >= session.Expiration) throw new AwsError('ExpiredToken', 'The security token included in the request is expired', 403);
    const roleName = session.RoleArn.split('/').pop()!;
    return {
      secret: session.SecretAccessKey,
      principal: {
        arn: `arn:aws:sts::${this.account}:assumed-role/${roleName}/${session.RoleSessionName}`,
        account: this.account,
        kind: 'assumed-role',
        roleArn: session.RoleArn,
        roleName,
        sessionName: session.RoleSessionName,
        userId: `${session.RoleId}:${session.RoleSessionName}`,
        ...(session.Policy && { sessionPolicy: session.Policy }),
      },
    };
  }

  /** The identity-based policies in force for a principal: inline plus attached managed policies. */
  identityPolicies(principal: Principal): { name: string; document: PolicyDocument }[] {
    if (principal.kind === 'root') return [{ name: 'AccountRoot', document: ALLOW_ALL }];
    const role = principal.roleArn ? findRole(this.state, principal.roleArn) : undefined;
    if (!role) return [];
    const inline = Object.entries(role.InlinePolicies).map(([name, document]) => ({ name, document }));
    // A managed policy grants what its default version says.
    const attached = role.AttachedPolicyArns.flatMap((arn) => {
      const p = Object.hasOwn(this.state.iam.policies, arn) ? this.state.iam.policies[arn] : undefined;
      return p ? [{ name: p.PolicyName, document: defaultPolicyDocument(p) }] : [];
    });
    return [...inline, ...attached];
  }

  /**
   * The permissions boundary of a role session's role, if it has one. A boundary policy that is gone
   * (only possible by editing state: IAM refuses to delete it) allows nothing, so access fails closed.
   */
  permissionsBoundary(principal: Principal): { name: string; document: PolicyDocument } | undefined {
    const arn = principal.roleArn ? findRole(this.state, principal.roleArn)?.PermissionsBoundaryArn : undefined;
    if (!arn) return undefined;
    const policy = Object.hasOwn(this.state.iam.policies, arn) ? this.state.iam.policies[arn] : undefined;
    return { name: policy?.PolicyName ?? arn, document: policy ? defaultPolicyDocument(policy) : { Version: '2012-10-17', Statement: [] } };
  }

  /** Global condition keys AWS adds to every request from this principal. */
  principalContext(principal: Principal): Record<string, string> {
    return {
      'aws:PrincipalArn': principal.roleArn ?? principal.arn,
      'aws:PrincipalAccount': principal.account,
      'aws:PrincipalType': principal.kind === 'root' ? 'Account' : 'AssumedRole',
      'aws:userid': principal.userId,
      'aws:CurrentTime': this.clock.date().toISOString(),
      'aws:RequestedRegion': this.region,
    };
  }

  /**
   * Evaluates a call by `principal` (a caller or a service principal string) and throws AWS's
   * AccessDenied in the protocol family of `service` when it is not allowed.
   */
  authorize(
    service: string,
    principal: Principal | string,
    action: string,
    resource: string,
    opts: { context?: Record<string, string | string[]>; resourcePolicy?: PolicyDocument; resourceAccount?: string; shownAs?: string } = {},
  ): void {
    const result = this.evaluate(principal, action, resource, opts);
    if (result.decision === 'Allowed') return;
    throw this.accessDenied(service, typeof principal === 'string' ? principal : principal.arn, action, opts.shownAs ?? resource, result);
  }

  evaluate(
    principal: Principal | string,
    action: string,
    resource: string,
    opts: { context?: Record<string, string | string[]>; resourcePolicy?: PolicyDocument; resourceAccount?: string } = {},
  ): AuthzResult {
    const isService = typeof principal === 'string';
    return evaluate({
      principal: isService ? principal : principal.arn,
      action,
      resource,
      resourceAccount: opts.resourceAccount ?? this.account,
      context: { ...(isService ? {} : this.principalContext(principal)), ...opts.context },
      identityPolicies: isService ? [] : this.identityPolicies(principal),
      permissionsBoundary: isService ? undefined : this.permissionsBoundary(principal),
      sessionPolicy: isService ? undefined : principal.sessionPolicy,
      resourcePolicy: opts.resourcePolicy,
    });
  }

  /** `resource` as the message shows it: an ARN, or IAM's own wording (`role <name>`, `policy <arn>`). */
  accessDenied(service: string, who: string, action: string, resource: string, result: AuthzResult): AwsError {
    const kind = { identity: 'an identity-based policy', resource: 'a resource-based policy', boundary: 'a permissions boundary', session: 'a session policy' }[
      result.deniedBy ?? 'identity'
    ];
    const why =
      result.decision === 'ExplicitlyDenied' ? `with an explicit deny in ${kind}` : `because no ${kind.replace(/^an? /, '')} allows the ${action} action`;
    const message = `User: ${who} is not authorized to perform: ${action} on resource: ${resource} ${why}`;
    return service === 'iam' || service === 'sts' ? new AwsError('AccessDenied', message, 403) : new AwsError('AccessDeniedException', message, 400);
  }

  /** False while a freshly created role is still propagating (see `iamPropagationDelayMs`). */
  isRoleVisible(roleArn: string): boolean {
    const role = findRole(this.state, roleArn);
    return !!role && this.clock.now() >= role.VisibleAt;
  }

  // ---- ids ----
  requestId(): string {
    return randomUUID();
  }
  /** Upper-case alphanumerics, as IAM ids and access keys use. */
  randomId(prefix: string, length = 21): string {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
    const bytes = randomBytes(length - prefix.length);
    return prefix + Array.from(bytes, (b) => alphabet[b % alphabet.length]).join('');
  }
}
