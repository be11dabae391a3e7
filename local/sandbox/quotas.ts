/**
 * Per-account quotas, as data in one place and checked by one mechanism: resource limits (how many
 * roles, how large a policy, how many aliases per key…) and request rates (token buckets per API on
 * the sandbox clock). Both are on by default with AWS's published values, and configurable from code
 * (`SandboxOptions.limits` / `rates`) and from `POST /_sandbox/config`. Sources: docs/sandbox.md
 * ("Quotas and request rates").
 */
import { AwsError } from './errors';
import type { Clock } from './clock';

// ---------------------------------------------------------------------------------------------
// Resource limits

/** IAM answers every quota with `LimitExceeded` 409 (IAM quotas; observed error reports). */
const iamLimit = (message: string) => new AwsError('LimitExceeded', message, 409);
const cannotExceed = (quota: string) => (limit: number) => iamLimit(`Cannot exceed quota for ${quota}: ${limit}`);
/** KMS words resource quotas as "<quota> quota for this account in this region is N, current usage is M." */
const kmsLimit = (quota: string) => (limit: number, _subject: string | undefined, current: number) =>
  new AwsError('LimitExceededException', `${quota} quota for this account in this region is ${limit}, current usage is ${current}.`, 400);

interface LimitSpec {
  value: number;
  /** The service's refusal; `subject` names what is full (a role), `current` is the usage before the request. */
  error(limit: number, subject: string | undefined, current: number): AwsError;
}

export const DEFAULT_LIMITS = {
  iam: {
    RolesPerAccount: { value: 1000, error: cannotExceed('RolesPerAccount') },
    PoliciesPerAccount: { value: 1500, error: cannotExceed('PoliciesPerAccount') },
    PoliciesPerRole: { value: 10, error: cannotExceed('PoliciesPerRole') },
    TagsPerRole: { value: 50, error: cannotExceed('TagsPerRole') },
    /** Characters of all a role's inline policies together, whitespace not counted. */
    RolePolicySize: { value: 10_240, error: (limit, role) => iamLimit(`Maximum policy size of ${limit} bytes exceeded for role ${role}`) },
    /** Characters of one managed policy version, whitespace not counted. */
    PolicySize: { value: 6_144, error: cannotExceed('PolicySize') },
    /** Characters of a role's trust policy, whitespace not counted. */
    AssumeRolePolicySize: { value: 2_048, error: cannotExceed('ACLSizePerRole') },
    VersionsPerPolicy: {
      value: 5,
      error: (limit) => iamLimit(`A managed policy can have up to ${limit} versions. Before you create a new version, you must delete an existing version.`),
    },
  },
  kms: {
    /** Customer managed keys in every key state, pending deletion included. */
    KeysPerRegion: { value: 100_000, error: kmsLimit('Key') },
    AliasesPerKey: { value: 50, error: kmsLimit('Aliases per key') },
    GrantsPerKey: { value: 50_000, error: kmsLimit('Grants per key') },
    OnDemandRotationsPerKey: {
      value: 25,
      error: (_limit, key) =>
        new AwsError(
          'LimitExceededException',
          `The on-demand rotations limit has been reached for the given keyId. No more on-demand rotations can be performed for this key: ${key}`,
          400,
        ),
    },
  },
} satisfies Record<string, Record<string, LimitSpec>>;

export type LimitName<S extends keyof typeof DEFAULT_LIMITS> = keyof (typeof DEFAULT_LIMITS)[S];
export type LimitsConfig = { [S in keyof typeof DEFAULT_LIMITS]?: Partial<Record<LimitName<S>, number>> };

// ---------------------------------------------------------------------------------------------
// Request rates

/**
 * Requests per second, per account, by operation. `*` stands for every operation of the service that
 * is not read-only and not listed, each with its own bucket. A bucket holds one second's worth of
 * requests (at least one; more where the service documents a burst) and refills continuously.
 */
export type RatesConfig = Record<string, Record<string, number | null>>;

export const DEFAULT_RATES: RatesConfig = {
  // KMS request quotas [KMS-RPS]; the operations marked (2021) are from the archived table.
  kms: {
    CreateKey: 5,
    CreateAlias: 5,
    DeleteAlias: 5 /* 2021 */,
    UpdateAlias: 5 /* 2021 */,
    PutKeyPolicy: 15,
    EnableKeyRotation: 15,
    DisableKeyRotation: 5 /* 2021 */,
    ScheduleKeyDeletion: 15,
    CancelKeyDeletion: 5,
    EnableKey: 5,
    DisableKey: 5,
    RotateKeyOnDemand: 5,
    UpdateKeyDescription: 5 /* 2021 */,
    TagResource: 10,
    UntagResource: 5 /* 2021 */,
    CreateGrant: 50,
    RevokeGrant: 15 /* 2021 */,
    RetireGrant: 15 /* 2021 */,
    ListGrants: 100,
    ListAliases: 500,
    ListKeys: 500,
    ListKeyPolicies: 100 /* 2021 */,
    ListResourceTags: 100 /* 2021 */,
    DescribeKey: 2_000,
    GetKeyPolicy: 1_000,
    GetKeyRotationStatus: 1_000,
    // The symmetric cryptographic operations share one quota; the lowest Region value.
    SymmetricCryptographicOperations: 10_000,
  },
  // Unpublished: AWS Support describes per-API token buckets. 10/s per write API is our choice.
  iam: { '*': 10 },
  // Unpublished and unknown: off unless configured.
  kinesisanalytics: {},
  sts: {},
  // BatchImportFindings: 10 per second per account and Region, bursts of 30 [BIF]; the other APIs' rates are not in our sources.
  securityhub: { BatchImportFindings: 10 },
};

/** Buckets that hold more than one second's worth, in seconds: the documented bursts (30 at 10/s) [BIF]. */
const BURST_SECONDS: Record<string, Record<string, number>> = { securityhub: { BatchImportFindings: 3 } };

/** Operations that draw on a shared quota rather than their own. */
const SHARED: Record<string, Record<string, string>> = {
  kms: Object.fromEntries(
    ['Encrypt', 'Decrypt', 'ReEncrypt', 'GenerateDataKey', 'GenerateDataKeyWithoutPlaintext', 'GenerateRandom'].map((op) => [
      op,
      'SymmetricCryptographicOperations',
    ]),
  ),
};

/** Each service's own throttling error, as it names it and words it [KMS-RPS; IAM and Security Hub error reports]. */
export const THROTTLING: Record<string, { code: string; message: string; status?: number }> = {
  iam: { code: 'Throttling', message: 'Rate exceeded' },
  sts: { code: 'Throttling', message: 'Rate exceeded' },
  kms: { code: 'ThrottlingException', message: 'You have exceeded the rate at which you may call KMS. Reduce the frequency of your calls.' },
  kinesisanalytics: { code: 'ThrottlingException', message: 'Rate exceeded' },
  dynamodb: { code: 'ThrottlingException', message: 'Rate of requests exceeds the allowed throughput.' },
  tagging: { code: 'ThrottledException', message: 'Rate exceeded' },
  // Not in the service model (its LimitExceededException is 429); reported against AWS for GetFindings and others.
  securityhub: { code: 'TooManyRequestsException', message: 'Too Many Requests', status: 429 },
};

export const isThrottlingCode = (code: string) => Object.values(THROTTLING).some((t) => t.code === code);

// ---------------------------------------------------------------------------------------------

export class Quotas {
  private limits: Record<string, Record<string, number>>;
  private rates: RatesConfig | false;
  private buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly clock: Clock,
    limits: LimitsConfig = {},
    rates: RatesConfig | false = {},
  ) {
    this.limits = Object.fromEntries(Object.entries(DEFAULT_LIMITS).map(([s, l]) => [s, Object.fromEntries(Object.entries(l).map(([k, v]) => [k, v.value]))]));
    this.rates = structuredClone(DEFAULT_RATES);
    this.configure({ limits, rates });
  }

  /** Merges new limits and rates into the current ones; `rates: false` turns throttling off. */
  configure(config: { limits?: LimitsConfig; rates?: RatesConfig | false }): void {
    for (const [service, values] of Object.entries(config.limits ?? {})) {
      for (const [name, value] of Object.entries(values ?? {})) {
        if (!(name in (this.limits[service] ?? {}))) throw new Error(`unknown limit ${service}.${name}`);
        this.limits[service][name] = Number(value);
      }
    }
    if (config.rates === false) this.rates = false;
    else if (config.rates) {
      const rates = (this.rates ||= structuredClone(DEFAULT_RATES));
      for (const [service, values] of Object.entries(config.rates)) Object.assign((rates[service] ??= {}), values);
    }
    if (config.rates !== undefined) this.buckets.clear();
  }

  /** The limits and rates in force, for GetAccountSummary and the control endpoint. */
  view(): { limits: Record<string, Record<string, number>>; rates: RatesConfig | false } {
    return { limits: structuredClone(this.limits), rates: structuredClone(this.rates) };
  }

  limit<S extends keyof typeof DEFAULT_LIMITS>(service: S, name: LimitName<S>): number {
    return this.limits[service][name as string];
  }

  /** Throws the service's LimitExceeded when `current + adding` would pass the limit. */
  assertWithin<S extends keyof typeof DEFAULT_LIMITS>(service: S, name: LimitName<S>, current: number, adding = 1, subject?: string): void {
    const limit = this.limit(service, name);
    if (current + adding > limit) throw (DEFAULT_LIMITS[service][name] as LimitSpec).error(limit, subject, current);
  }

  /** Takes one token for this call, or throws the service's throttling error. */
  admit(service: string, operation: string, readOnly: boolean): void {
    const rates = this.rates ? this.rates[service] : undefined;
    if (!rates) return;
    const rateKey = SHARED[service]?.[operation] ?? (operation in rates ? operation : !readOnly && '*' in rates ? '*' : undefined);
    const perSecond = rateKey === undefined ? undefined : rates[rateKey];
    if (perSecond === undefined || perSecond === null) return;
    // `*` gives every write operation a bucket of its own.
    const key = `${service}:${rateKey === '*' ? operation : rateKey}`;
    const capacity = Math.max(1, perSecond * ((rateKey !== '*' && BURST_SECONDS[service]?.[rateKey]) || 1));
    const now = this.clock.now();
    const bucket = this.buckets.get(key) ?? { tokens: capacity, at: now };
    bucket.tokens = Math.min(capacity, bucket.tokens + ((now - bucket.at) * perSecond) / 1000);
    bucket.at = now;
    this.buckets.set(key, bucket);
    if (bucket.tokens < 1) {
      const t = THROTTLING[service] ?? THROTTLING.kinesisanalytics;
      throw new AwsError(t.code, t.message, t.status ?? 400);
    }
    bucket.tokens -= 1;
  }
}
