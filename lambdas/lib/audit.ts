/**
 * The read-only audit's checks (next-capabilities §2.2), as pure functions of what was read: each failing
 * check is one finding with a severity and the operation that fixes it, reported in AWS Security Finding
 * Format (ASFF, next-capabilities §2.3). A clean, onboarded application yields none.
 */
import type { KeyMetadata } from '@aws-sdk/client-kms';
import { isDeepStrictEqual } from 'node:util';
import { refusedRequests } from './key-policy-check';
import { SHARED_OPERATOR_POLICY_NAME, appArn, type Context } from './names';
import { operatorCmkPolicy, sharedOperatorKeyPolicy } from './policies';
import type { EncryptionConfig } from './reads';

export type Severity = 'INFORMATIONAL' | 'LOW' | 'MEDIUM' | 'HIGH' | 'CRITICAL';

/** Everything the audit reads about one application (all reads). */
export interface Observed {
  applicationName: string;
  encryption: EncryptionConfig;
  /** The key the workflow's alias names for this application (what onboarding or a move left). */
  aliasKeyArn?: string;
  /** The key the application is on, as the key administrator reads it (undefined: gone or unreadable). */
  key?: Pick<KeyMetadata, 'Arn' | 'KeyId' | 'KeyState' | 'KeySpec' | 'KeyUsage' | 'KeyManager' | 'AWSAccountId' | 'DeletionDate'>;
  keyPolicy?: unknown;
  rotationEnabled?: boolean;
  operatorRoleArn: string;
  /** The deployment's shared operator (setting sharedOperatorRoleArn) rather than the application's own. */
  sharedOperator?: boolean;
  operatorRoleExists: boolean;
  /** The operator's inline policy for the application's key, if any. */
  operatorKeyPolicy?: unknown;
  /** Each snapshot with the key it is under, and that key's state (undefined: gone or unreadable). */
  snapshots: { name: string; keyArn?: string; keyState?: string }[];
}

export interface Expectations {
  /** Automatic rotation as configured: off per the blog (new material is used only after a restart), or on. */
  rotation: 'off' | 'automatic';
}

export interface Check {
  check: string;
  severity: Severity;
  title: string;
  description: string;
  /** The operation (or the manual act) that fixes it. */
  remediation: { operation: string; text: string };
  resource: { type: 'AwsKinesisAnalyticsApplication' | 'AwsKmsKey'; id: string };
}

/** The checks that fail for one application, in the order of the table in next-capabilities §2.2. */
export function checkApplication(ctx: Context, o: Observed, expect: Expectations): Check[] {
  const app = appArn(ctx, o.applicationName);
  const onApp = (check: string, severity: Severity, title: string, description: string, operation: string, text: string): Check => ({
    check,
    severity,
    title,
    description,
    remediation: { operation, text },
    resource: { type: 'AwsKinesisAnalyticsApplication', id: app },
  });
  const onKey = (keyArn: string, check: string, severity: Severity, title: string, description: string, operation: string, text: string): Check => ({
    check,
    severity,
    title,
    description,
    remediation: { operation, text },
    resource: { type: 'AwsKmsKey', id: keyArn },
  });
  const out: Check[] = [];
  if (o.encryption.KeyType === 'AWS_OWNED_KEY') {
    out.push(
      onApp(
        'on-expected-key',
        o.aliasKeyArn ? 'MEDIUM' : 'LOW',
        'Application is on the AWS owned key',
        `${o.applicationName} uses the AWS owned key${o.aliasKeyArn ? `, though the workflow's key ${o.aliasKeyArn} exists for it` : ''}.`,
        'onboard-application',
        'Run onboard-application for it (or leave it, if it was reverted on purpose with revert-to-aws-owned-key).',
      ),
    );
    return [...out, ...snapshotChecks(o, onKey)];
  }
  const keyArn = o.key?.Arn ?? o.encryption.KeyId!;
  if (o.aliasKeyArn && o.aliasKeyArn !== keyArn) {
    out.push(
      onApp(
        'on-expected-key',
        'MEDIUM',
        'Application is not on the key the workflow set up for it',
        `${o.applicationName} uses ${keyArn}; the workflow's alias names ${o.aliasKeyArn}.`,
        'move-key',
        `Run move-key with keyId ${o.aliasKeyArn} to put it back on that key.`,
      ),
    );
  }
  if (!o.key) {
    out.push(
      onKey(
        keyArn,
        'key-readable',
        'HIGH',
        'Application key cannot be read',
        `The key administrator cannot describe ${keyArn}: it is gone, or its policy no longer names the key administrator.`,
        'manual',
        'Restore the key administrator statement of the key policy (the account may: AllowAccountToRecoverKeyAdministration), then run onboard-application.',
      ),
    );
    return [...out, ...snapshotChecks(o, onKey)];
  }
  if (o.key.KeyState === 'PendingDeletion') {
    out.push(
      onKey(
        keyArn,
        'key-not-pending-deletion',
        'CRITICAL',
        'Application key is scheduled for deletion',
        `${keyArn} is pending deletion${o.key.DeletionDate ? ` on ${new Date(o.key.DeletionDate).toISOString()}` : ''}; once deleted, ${o.applicationName}'s state and snapshots under it are unrecoverable.`,
        'manual',
        'kms:CancelKeyDeletion, then kms:EnableKey, by the key administrator; retire a key only with nothing referencing it.',
      ),
    );
  } else if (o.key.KeyState !== 'Enabled') {
    out.push(
      onKey(
        keyArn,
        'key-enabled',
        'HIGH',
        'Application key is not enabled',
        `${keyArn} is ${o.key.KeyState}: ${o.applicationName} fails at its next snapshot or restart and cannot restore snapshots under it.`,
        'manual',
        'kms:EnableKey by the key administrator.',
      ),
    );
  }
  if (o.key.KeySpec !== 'SYMMETRIC_DEFAULT' || o.key.KeyUsage !== 'ENCRYPT_DECRYPT' || o.key.KeyManager !== 'CUSTOMER') {
    out.push(
      onKey(
        keyArn,
        'key-symmetric',
        'HIGH',
        'Application key is not a symmetric customer managed key',
        `${keyArn} is ${o.key.KeySpec}/${o.key.KeyUsage}, managed by ${o.key.KeyManager}.`,
        'move-key',
        'Run move-key to a new symmetric customer managed key.',
      ),
    );
  }
  if (o.key.AWSAccountId !== ctx.account || !keyArn.startsWith(`arn:${ctx.partition}:kms:${ctx.region}:`)) {
    out.push(
      onKey(
        keyArn,
        'key-in-account',
        'HIGH',
        'Application key is in another account or Region',
        `${keyArn} is not in ${ctx.account} ${ctx.region}, where ${o.applicationName} is.`,
        'move-key',
        "Run move-key to a key in the application's account and Region.",
      ),
    );
  }
  const refused =
    o.keyPolicy === undefined
      ? ['the key policy could not be read']
      : refusedRequests(o.keyPolicy, keyArn, { scope: ctx, applicationArn: app, operatorRoleArn: o.operatorRoleArn }).map(
          (r) => `${r.action} by ${'AWS' in r.principal ? r.principal.AWS : r.principal.Service} (${r.purpose})`,
        );
  if (refused.length) {
    out.push(
      onKey(
        keyArn,
        'key-policy',
        'HIGH',
        'Key policy no longer allows what Managed Flink needs',
        `The policy of ${keyArn} does not allow, for ${app}: ${refused.join('; ')}.`,
        'onboard-application',
        "Run onboard-application: it converges the workflow's statements of the key policy (an adopted key's administrator adds them).",
      ),
    );
  }
  const wanted = o.sharedOperator ? sharedOperatorKeyPolicy({ scope: ctx }) : operatorCmkPolicy({ scope: ctx, keyArn, applicationArn: app });
  if (!o.operatorRoleExists || !isDeepStrictEqual(o.operatorKeyPolicy, wanted)) {
    out.push(
      onApp(
        'operator-key-policy',
        'HIGH',
        "Operator's key policy is missing or changed",
        `${o.operatorRoleArn} ${!o.operatorRoleExists ? 'does not exist' : o.operatorKeyPolicy === undefined ? `holds no policy for ${keyArn}` : `holds a policy for ${keyArn} that differs from the documented one`}: Start, Stop, UpdateApplication and snapshots of ${o.applicationName} need it.`,
        'onboard-application',
        o.sharedOperator
          ? `Deploy the stack with sharedOperatorRoleArn: it attaches ${SHARED_OPERATOR_POLICY_NAME} to the shared operator role.`
          : 'Run onboard-application: GrantOperatorKeyAccess puts the documented policy back.',
      ),
    );
  }
  const rotating = !!o.rotationEnabled;
  if (o.key.KeySpec === 'SYMMETRIC_DEFAULT' && rotating !== (expect.rotation === 'automatic')) {
    out.push(
      onKey(
        keyArn,
        'rotation',
        'LOW',
        `Automatic rotation is ${rotating ? 'on' : 'off'}, configured ${expect.rotation}`,
        `${keyArn} has automatic rotation ${rotating ? 'enabled' : 'disabled'}; the audit expects ${expect.rotation}. Managed Flink uses new key material only after a restart.`,
        'rotate-key',
        `Run rotate-key with "rotation": "${expect.rotation}" (its ${expect.rotation === 'automatic' ? 'EnableKeyRotation' : 'DisableKeyRotation'} as the key administrator); the facts advise on-demand rotation and a restart for Managed Flink.`,
      ),
    );
  }
  return [...out, ...snapshotChecks(o, onKey)];
}

/** A snapshot is restorable only while its key is enabled (facts §6, §7). */
function snapshotChecks(o: Observed, onKey: (keyArn: string, ...rest: [string, Severity, string, string, string, string]) => Check): Check[] {
  const unusable = new Map<string, { state: string; names: string[] }>();
  for (const s of o.snapshots) {
    if (!s.keyArn || s.keyState === 'Enabled') continue;
    const entry = unusable.get(s.keyArn) ?? { state: s.keyState ?? 'unreadable', names: [] };
    entry.names.push(s.name);
    unusable.set(s.keyArn, entry);
  }
  return [...unusable].map(([keyArn, { state, names }]) =>
    onKey(
      keyArn,
      'snapshot-keys',
      'HIGH',
      'Snapshots are under a key that is not enabled',
      `${names.length} snapshot(s) of ${o.applicationName} (${names.join(', ')}) are under ${keyArn}, which is ${state}: they cannot be restored.`,
      'manual',
      'kms:EnableKey (or kms:CancelKeyDeletion) by the key administrator; retire the key only once no snapshot is under it.',
    ),
  );
}

/** A finding in ASFF (next-capabilities §2.3: the required top-level fields, own product ARN). */
export function asff(ctx: Context, c: Check, applicationName: string, at: string) {
  return {
    SchemaVersion: '2018-10-08',
    Id: `${appArn(ctx, applicationName)}/msf-cmk-audit/${c.check}`,
    ProductArn: `arn:${ctx.partition}:securityhub:${ctx.region}:${ctx.account}:product/${ctx.account}/default`,
    GeneratorId: `msf-cmk-orchestrator/audit/${c.check}`,
    AwsAccountId: ctx.account,
    Types: ['Software and Configuration Checks/AWS Security Best Practices'],
    CreatedAt: at,
    UpdatedAt: at,
    Severity: { Label: c.severity },
    Title: c.title,
    Description: c.description.slice(0, 1024),
    Remediation: { Recommendation: { Text: c.remediation.text.slice(0, 512) } },
    ProductFields: { 'msf-cmk/remediation-operation': c.remediation.operation, 'msf-cmk/application': applicationName },
    Resources: [{ Type: c.resource.type === 'AwsKmsKey' ? 'AwsKmsKey' : 'Other', Id: c.resource.id, Partition: ctx.partition, Region: ctx.region }],
    Compliance: { Status: 'FAILED' },
    RecordState: 'ACTIVE',
  };
}
export type AsffFinding = ReturnType<typeof asff>;
