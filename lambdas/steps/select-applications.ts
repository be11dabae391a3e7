/**
 * SelectApplications: the fleet's input and the applications it onboards, read as the orchestrator — every
 * application of the account and Region (ListApplications, paginated), narrowed by an explicit list, a name
 * pattern, a runtime or a tag, each with the key it adopts if `keyIds` names one — less those already on a customer managed key, which are reported as
 * skipped (move-key changes a key; onboarding is the way off the AWS owned key). Reads only.
 */
import { ListApplicationsCommand, ListTagsForResourceCommand, type ApplicationSummary } from '@aws-sdk/client-kinesis-analytics-v2';
import { InvalidInput } from '../lib/errors';
import { contextOf, type Context } from '../lib/names';
import { clientsAs } from '../lib/personas';
import { describeApplication, encryptionOf } from '../lib/reads';
import { deployment } from '../lib/settings';
import { task } from '../lib/step';

export interface FleetInput {
  mode: 'apply' | 'plan';
  /** Explicit application names; absent = every application of the account that matches the filters. */
  applicationNames?: string[];
  /** A glob on the name (`*` any run of characters, `?` one). */
  namePattern?: string;
  runtimeEnvironment?: string;
  tag?: { key: string; value: string };
  /** A key to adopt per application, as onboard-application's `keyId` (its child checks the key's policy). */
  keyIds?: Record<string, string>;
  /** Child onboardings at once (the Map's MaxConcurrency), 1-40; default 5. */
  maxConcurrency: number;
  /**
   * Of those, onboardings of applications that are not READY (RUNNING, or busy on the way to it) at once:
   * their onboarding restarts them. 1 to maxConcurrency; default ⌊maxConcurrency / 2⌋ (at least 1).
   */
  maxConcurrentRestarts: number;
  /** The fleet fails when more than this share of its onboardings fail, 0-100; default 0. */
  toleratedFailurePercentage: number;
}

/** A child execution's input: the application, the fleet's mode and the key it adopts, if any. */
export type FleetItem = { applicationName: string; mode: FleetInput['mode']; keyId?: string };

/** A group of applications the fleet's OnboardEach Map runs at `maxConcurrency` at once. */
export interface FleetGroup {
  /** Whether the group's onboardings restart their applications (they were not READY when selected). */
  restarts: boolean;
  maxConcurrency: number;
  /**
   * Each child starts after a random 0 to startSpreadSeconds − 1 seconds: ⌈maxConcurrency / 5⌉, so the
   * children started at once reach KMS's CreateKey (5 per second per account) about 5 a second.
   */
  startSpreadSeconds: number;
  /** What each child execution gets as its input. */
  applications: FleetItem[];
}

export interface FleetSelection {
  context: Context;
  config: FleetInput;
  /**
   * The selected applications in at most two groups, run side by side: the rest, then those whose
   * onboarding restarts them; the two groups' maxConcurrency add up to the fleet's (see `fleetGroups`).
   */
  groups: FleetGroup[];
  /** Groups run at once: 2 when their slots fit maxConcurrency, else 1 (one after the other). */
  groupConcurrency: number;
  skipped: { applicationName: string; reason: string }[];
}

const NAME = /^[a-zA-Z0-9_.-]{1,128}$/;
const FIELDS = [
  'mode',
  'applicationNames',
  'namePattern',
  'runtimeEnvironment',
  'tag',
  'keyIds',
  'maxConcurrency',
  'maxConcurrentRestarts',
  'toleratedFailurePercentage',
];
/** More at once than this gains nothing: KMS allows 5 CreateKey a second per account, and restarts are bounded too. */
export const MAX_CONCURRENCY = 40;
/** KMS's CreateKey quota per account and Region (every onboarding creates one key), the lowest rate a child meets. */
const KMS_CREATE_KEYS_PER_SECOND = 5;
/**
 * Restarts at once by default: half the slots (at least one). A restarting onboarding lasts 2–3 times a READY
 * one (the restart itself), so with half the slots each the two groups of a mix with a third RUNNING finish
 * about together (`npm run bench:fleet`: 200 at maxConcurrency 25 take 0.8 × ⌈N/C⌉ × one application's
 * critical path with 12, 1.8 × with 5), while the other half keeps the READY ones flowing. Lower it to have
 * fewer streaming applications down at once; the fleet then takes longer.
 */
export const defaultMaxConcurrentRestarts = (maxConcurrency: number) => Math.max(1, Math.floor(maxConcurrency / 2));

const intIn = (v: unknown, min: number, max: number) => Number.isInteger(v) && (v as number) >= min && (v as number) <= max;

/** The fleet input with defaults, or InvalidInput naming every bad field. */
export function fleetInput(input: unknown): FleetInput {
  const i = (input ?? {}) as Record<string, any>;
  const problems = Object.keys(i)
    .filter((k) => !FIELDS.includes(k))
    .map((k) => `${k}: is not a field of the fleet`);
  if (i.mode !== undefined && i.mode !== 'apply' && i.mode !== 'plan') problems.push('mode: must be "apply" or "plan"');
  if (i.applicationNames !== undefined && !(Array.isArray(i.applicationNames) && i.applicationNames.length && i.applicationNames.every((n) => NAME.test(n))))
    problems.push('applicationNames: must be a non-empty list of Managed Flink application names');
  if (i.namePattern !== undefined && !(typeof i.namePattern === 'string' && /^[a-zA-Z0-9_.*?-]{1,128}$/.test(i.namePattern)))
    problems.push('namePattern: must be a name with * and ? wildcards');
  if (i.runtimeEnvironment !== undefined && !(typeof i.runtimeEnvironment === 'string' && /^[A-Z0-9_-]{1,64}$/.test(i.runtimeEnvironment)))
    problems.push('runtimeEnvironment: must be a runtime such as FLINK-1_20');
  if (i.tag !== undefined && !(typeof i.tag?.key === 'string' && i.tag.key.length && typeof i.tag.value === 'string' && Object.keys(i.tag).length === 2))
    problems.push('tag: must be {"key": …, "value": …}');
  if (
    i.keyIds !== undefined &&
    !(
      typeof i.keyIds === 'object' &&
      !Array.isArray(i.keyIds) &&
      Object.entries(i.keyIds).every(([name, key]) => NAME.test(name) && typeof key === 'string' && key.length >= 1 && key.length <= 2048)
    )
  )
    problems.push('keyIds: must map application names to the keys to adopt, {"<applicationName>": "<key ARN, key ID or alias>"}');
  if (i.maxConcurrency !== undefined && !intIn(i.maxConcurrency, 1, MAX_CONCURRENCY))
    problems.push(`maxConcurrency: must be an integer from 1 to ${MAX_CONCURRENCY}`);
  // A bad maxConcurrency is reported alone: the restarts are then checked against the widest bound.
  const maxConcurrency = intIn(i.maxConcurrency, 1, MAX_CONCURRENCY) ? (i.maxConcurrency as number) : i.maxConcurrency === undefined ? 5 : MAX_CONCURRENCY;
  if (i.maxConcurrentRestarts !== undefined && !intIn(i.maxConcurrentRestarts, 1, maxConcurrency))
    problems.push(`maxConcurrentRestarts: must be an integer from 1 to maxConcurrency (${maxConcurrency})`);
  if (i.toleratedFailurePercentage !== undefined && !intIn(i.toleratedFailurePercentage, 0, 100))
    problems.push('toleratedFailurePercentage: must be an integer from 0 to 100');
  if (problems.length) throw new InvalidInput(problems.join('; '));
  return {
    mode: 'apply',
    maxConcurrency,
    maxConcurrentRestarts: defaultMaxConcurrentRestarts(maxConcurrency),
    toleratedFailurePercentage: 0,
    ...i,
  } as FleetInput;
}

/**
 * The Map's groups: applications not READY when selected (RUNNING, or busy and on the way back to running:
 * onboarding waits for them, then its switch restarts them) at most maxConcurrentRestarts at once, the rest
 * in the slots left of maxConcurrency (at least one): together at most maxConcurrency, or, where the rest's
 * one slot would exceed it, the groups one after the other (`groupConcurrency`). Plan mode
 * restarts nothing: one group. Empty groups are left out.
 */
export function fleetGroups(config: FleetInput, applications: (FleetItem & { status?: string })[]): FleetGroup[] {
  const item = ({ applicationName, mode, keyId }: FleetItem): FleetItem => ({ applicationName, mode, ...(keyId && { keyId }) });
  const restarting = config.mode === 'apply' ? applications.filter((a) => a.status !== 'READY') : [];
  const rest = applications.filter((a) => !restarting.includes(a));
  const restartSlots = Math.min(config.maxConcurrentRestarts, restarting.length);
  const startSpreadSeconds = Math.ceil(config.maxConcurrency / KMS_CREATE_KEYS_PER_SECOND);
  return [
    { restarts: false, maxConcurrency: Math.max(1, config.maxConcurrency - restartSlots), startSpreadSeconds, applications: rest.map(item) },
    { restarts: true, maxConcurrency: restartSlots, startSpreadSeconds, applications: restarting.map(item) },
  ].filter((g) => g.applications.length);
}

/**
 * How many groups run at once: side by side while their slots add up to at most maxConcurrency, one after
 * the other when they do not (maxConcurrency 1, or maxConcurrentRestarts = maxConcurrency with both groups).
 */
export const groupConcurrency = (config: FleetInput, groups: FleetGroup[]): number =>
  groups.reduce((n, g) => n + g.maxConcurrency, 0) <= config.maxConcurrency ? 2 : 1;

const glob = (pattern: string) =>
  new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  );

export const handler = task('SelectApplications', 'orchestrator', async (event: { input: unknown; execution: { Id: string } }): Promise<FleetSelection> => {
  const config = fleetInput(event.input);
  if (config.keyIds && deployment().sharedOperatorRoleArn)
    throw new InvalidInput(
      'keyIds: a deployment with a shared operator role (sharedOperatorRoleArn) adopts no key: its policy covers only the keys the workflow creates',
    );
  deployment();
  const context = contextOf(event.execution.Id);
  const { flink } = await clientsAs('orchestrator', { step: 'SelectApplications', context, applicationName: '*' }, 'read');
  const summaries: ApplicationSummary[] = [];
  let NextToken: string | undefined;
  do {
    const page = await flink.send(new ListApplicationsCommand({ Limit: 50, NextToken }));
    summaries.push(...(page.ApplicationSummaries ?? []));
    NextToken = page.NextToken;
  } while (NextToken);
  const known = new Set(summaries.map((s) => s.ApplicationName));
  const missing = (config.applicationNames ?? []).filter((n) => !known.has(n));
  if (missing.length) throw new InvalidInput(`applicationNames: ${missing.join(', ')} ${missing.length === 1 ? 'does' : 'do'} not exist in ${context.region}`);
  const pattern = config.namePattern ? glob(config.namePattern) : undefined;
  const unselected = Object.keys(config.keyIds ?? {}).filter((n) => !known.has(n));
  if (unselected.length) throw new InvalidInput(`keyIds: ${unselected.join(', ')} ${unselected.length === 1 ? 'does' : 'do'} not exist in ${context.region}`);
  const candidates = summaries.filter(
    (s) =>
      (!config.applicationNames || config.applicationNames.includes(s.ApplicationName!)) &&
      (!pattern || pattern.test(s.ApplicationName!)) &&
      (!config.runtimeEnvironment || s.RuntimeEnvironment === config.runtimeEnvironment),
  );
  const applications: (FleetItem & { status?: string })[] = [];
  const skipped: FleetSelection['skipped'] = [];
  for (const s of candidates) {
    if (config.tag) {
      const tags = (await flink.send(new ListTagsForResourceCommand({ ResourceARN: s.ApplicationARN }))).Tags ?? [];
      if (!tags.some((t) => t.Key === config.tag!.key && t.Value === config.tag!.value)) continue;
    }
    if (s.ApplicationStatus === 'DELETING') {
      skipped.push({ applicationName: s.ApplicationName!, reason: 'being deleted' });
      continue;
    }
    const app = await describeApplication(flink, s.ApplicationName!);
    const encryption = app && encryptionOf(app);
    if (encryption?.KeyType === 'CUSTOMER_MANAGED_KEY') {
      skipped.push({ applicationName: s.ApplicationName!, reason: `already on customer managed key ${encryption.KeyId} (move-key changes it)` });
      continue;
    }
    const keyId = config.keyIds?.[s.ApplicationName!];
    applications.push({
      applicationName: s.ApplicationName!,
      mode: config.mode,
      ...(keyId && { keyId }),
      status: app?.ApplicationStatus ?? s.ApplicationStatus,
    });
  }
  const groups = fleetGroups(config, applications);
  return { context, config, groups, groupConcurrency: groupConcurrency(config, groups), skipped };
});
