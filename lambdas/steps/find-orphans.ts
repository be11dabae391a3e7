/**
 * FindOrphans: the sweeper, for what no status-change event reached (an event lost, a deployment that was
 * down). Read-only: it finds what executions that were stopped or timed out still own — a lock they hold,
 * resources tagged as created by them that are still live (a key pending deletion is retired) — which their
 * cleanup would have removed, and reports each with the command that cleans it. Nothing else is touched.
 */
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { GetRoleCommand, ListRolesCommand } from '@aws-sdk/client-iam';
import { GetResourcesCommand } from '@aws-sdk/client-resource-groups-tagging-api';
import { DescribeExecutionCommand } from '@aws-sdk/client-sfn';
import { unlessMissing } from '../lib/errors';
import { CREATED_BY_KEY, MANAGED_BY_KEY, MANAGED_BY_VALUE, contextOf } from '../lib/names';
import { clientsAs } from '../lib/personas';
import { describeKey } from '../lib/reads';
import { deployment } from '../lib/settings';
import { task } from '../lib/step';

export interface Orphan {
  executionArn: string;
  status: string;
  /** The application whose lock it still holds. */
  lock?: string;
  /** What it created that is still there (keys pending deletion excepted). */
  resources: string[];
  fix: string;
}
export interface SweepReport {
  orphans: Orphan[];
  /** How many locks and tagged resources were looked at. */
  scanned: { locks: number; resources: number };
}

/** The ends that ran no Catch: only their cleanup removes what they left. */
const UNCAUGHT_ENDS = ['ABORTED', 'TIMED_OUT'];

export const handler = task('FindOrphans', 'orchestrator', async (event: { execution: { Id: string } }): Promise<SweepReport> => {
  const settings = deployment();
  const context = contextOf(event.execution.Id);
  const actor = { step: 'FindOrphans', context, applicationName: '' };
  const { dynamodb, iam, tagging, sfn } = await clientsAs('orchestrator', actor, 'read');
  const owned = new Map<string, { lock?: string; claimedBy?: string; resources: string[] }>();
  const of = (executionArn: string) => owned.get(executionArn) ?? owned.set(executionArn, { resources: [] }).get(executionArn)!;
  let locks = 0;
  let resources = 0;

  // Locks still held.
  let start: Record<string, any> | undefined;
  do {
    const page = await dynamodb.send(new ScanCommand({ TableName: settings.lockTableName, ExclusiveStartKey: start, ConsistentRead: true }));
    for (const item of page.Items ?? []) {
      locks++;
      if (!item.owner?.S) continue;
      // Claimed by a cleanup (ClaimLock): the lock is still the cleaned execution's to report, and cleaning
      // that execution again takes it over.
      const held = of(item.claimedFor?.S ?? item.owner.S);
      held.lock = item.lockId?.S;
      if (item.claimedFor?.S) held.claimedBy = item.owner.S;
    }
    start = page.LastEvaluatedKey;
  } while (start);

  // Keys and applications the workflow created, by their ownership tags.
  let PaginationToken: string | undefined;
  do {
    const page = await tagging.send(
      new GetResourcesCommand({
        TagFilters: [{ Key: MANAGED_BY_KEY, Values: [MANAGED_BY_VALUE] }, { Key: CREATED_BY_KEY }],
        ResourceTypeFilters: ['kms:key', 'kinesisanalytics:application'],
        PaginationToken,
      }),
    );
    for (const r of page.ResourceTagMappingList ?? []) {
      resources++;
      const creator = r.Tags?.find((t) => t.Key === CREATED_BY_KEY)?.Value;
      if (creator) of(creator).resources.push(r.ResourceARN!);
    }
    PaginationToken = page.PaginationToken || undefined;
  } while (PaginationToken);

  // Operator roles (IAM is not in the Tagging API; ListRoles returns no tags).
  let Marker: string | undefined;
  do {
    const page = await iam.send(new ListRolesCommand({ PathPrefix: settings.rolePath, Marker }));
    for (const summary of page.Roles ?? []) {
      resources++;
      const role = (await unlessMissing(iam.send(new GetRoleCommand({ RoleName: summary.RoleName })), 'NoSuchEntity'))?.Role;
      const creator = role?.Tags?.find((t) => t.Key === CREATED_BY_KEY)?.Value;
      if (role && creator) of(creator).resources.push(role.Arn!);
    }
    Marker = page.IsTruncated ? page.Marker : undefined;
  } while (Marker);

  const orphans: Orphan[] = [];
  let keyAdmin: Awaited<ReturnType<typeof clientsAs>> | undefined;
  for (const [executionArn, left] of [...owned].sort(([a], [b]) => a.localeCompare(b))) {
    // Long gone (history is kept 90 days): its resources are an onboarding's, its lock is taken over.
    const status = (await unlessMissing(sfn.send(new DescribeExecutionCommand({ executionArn })), 'ExecutionDoesNotExist'))?.status;
    if (!status || !UNCAUGHT_ENDS.includes(status)) continue;
    // Its cleanup holds the lock and is still at work.
    const cleanup = left.claimedBy && (await unlessMissing(sfn.send(new DescribeExecutionCommand({ executionArn: left.claimedBy })), 'ExecutionDoesNotExist'));
    if (cleanup && cleanup.status === 'RUNNING') continue;
    const live: string[] = [];
    for (const arn of left.resources) {
      if (arn.includes(':kms:')) {
        keyAdmin ??= await clientsAs('key-admin', actor, 'read');
        const state = (await describeKey(keyAdmin.kms, arn))?.KeyState;
        if (!state || state === 'PendingDeletion') continue;
      }
      live.push(arn);
    }
    if (!left.lock && !live.length) continue;
    orphans.push({
      executionArn,
      status,
      ...(left.lock ? { lock: left.lock } : {}),
      resources: live.sort(),
      fix: `npx tsx local/cli.ts cleanup ${executionArn} --state-machine-arn <CleanupStateMachineArn> (or start the Cleanup state machine with {"executionArn": "${executionArn}"})`,
    });
  }
  return { orphans, scanned: { locks, resources } };
});
