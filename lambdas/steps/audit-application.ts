/**
 * AuditApplication: reads one application's encryption, its key (state, spec, policy, rotation), its
 * operator's key policy and its snapshots' keys — the orchestrator reading Managed Flink and IAM, the key
 * administrator reading KMS, nothing written — and returns the failing checks as ASFF findings.
 */
import { GetKeyRotationStatusCommand, type KMSClient } from '@aws-sdk/client-kms';
import { asff, checkApplication, type AsffFinding, type Expectations, type Observed } from '../lib/audit';
import { isAwsError } from '../lib/errors';
import { aliasName, operatorRoleArn, operatorRoleName, type Context } from '../lib/names';
import { operatorKeyPolicyOf, sharedOperator } from '../lib/operator';
import { clientsAs } from '../lib/personas';
import { applicationSnapshots, describeApplication, describeKey, encryptionOf, getRole, keyPolicyOf } from '../lib/reads';
import { deployment } from '../lib/settings';
import { task } from '../lib/step';

export interface AuditEvent {
  applicationName: string;
  context: Context;
  expectations: Expectations;
}
export interface ApplicationAudit {
  applicationName: string;
  encryption: Observed['encryption'];
  /** Which snapshots are under which key: the keys they keep alive. */
  snapshotsByKey: Record<string, string[]>;
  findings: AsffFinding[];
}

/** A read the key administrator may be refused (a key whose policy no longer names it): unreadable, not fatal. */
async function unlessDenied<T>(read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch (e) {
    if (isAwsError(e, 'AccessDeniedException') || isAwsError(e, 'NotFoundException')) return undefined;
    throw e;
  }
}

async function observe(event: AuditEvent): Promise<Observed | undefined> {
  const { applicationName, context } = event;
  const actor = { step: 'AuditApplication', context, applicationName };
  const { flink, iam } = await clientsAs('orchestrator', actor, 'read');
  const app = await describeApplication(flink, applicationName);
  if (!app) return undefined;
  const kms: KMSClient = (await clientsAs('key-admin', actor, 'read')).kms;
  const encryption = encryptionOf(app);
  const key = encryption.KeyId ? await unlessDenied(() => describeKey(kms, encryption.KeyId!)) : undefined;
  const roleName = operatorRoleName(deployment(), applicationName);
  const keyStates = new Map<string, string | undefined>();
  const stateOf = async (keyRef: string) => {
    if (!keyStates.has(keyRef)) keyStates.set(keyRef, (await unlessDenied(() => describeKey(kms, keyRef)))?.KeyState);
    return keyStates.get(keyRef);
  };
  const snapshots: Observed['snapshots'] = [];
  for (const s of await applicationSnapshots(flink, applicationName)) {
    const keyArn =
      s.ApplicationEncryptionConfigurationDescription?.KeyType === 'CUSTOMER_MANAGED_KEY' ? s.ApplicationEncryptionConfigurationDescription.KeyId : undefined;
    snapshots.push({ name: s.SnapshotName!, keyArn, keyState: keyArn && (await stateOf(keyArn)) });
  }
  return {
    applicationName,
    encryption,
    aliasKeyArn: (await unlessDenied(() => describeKey(kms, aliasName(deployment(), applicationName))))?.Arn,
    key,
    keyPolicy: key && (await unlessDenied(() => keyPolicyOf(kms, key.KeyId!))),
    // Only symmetric keys rotate (KMS refuses the call for others).
    rotationEnabled:
      key?.KeySpec !== 'SYMMETRIC_DEFAULT'
        ? undefined
        : await unlessDenied(async () => (await kms.send(new GetKeyRotationStatusCommand({ KeyId: key.KeyId }))).KeyRotationEnabled),
    operatorRoleArn: operatorRoleArn(context, deployment(), applicationName),
    sharedOperator: sharedOperator(),
    operatorRoleExists: !!(await getRole(iam, roleName)),
    operatorKeyPolicy: key && (await operatorKeyPolicyOf(iam, context, roleName, key.KeyId!)),
    snapshots,
  };
}

export const handler = task('AuditApplication', 'key-admin', async (event: AuditEvent): Promise<ApplicationAudit> => {
  const observed = await observe(event);
  const at = new Date().toISOString();
  if (!observed) return { applicationName: event.applicationName, encryption: { KeyType: 'AWS_OWNED_KEY' }, snapshotsByKey: {}, findings: [] };
  const snapshotsByKey: Record<string, string[]> = {};
  for (const s of observed.snapshots) (snapshotsByKey[s.keyArn ?? 'AWS_OWNED_KEY'] ??= []).push(s.name);
  return {
    applicationName: event.applicationName,
    encryption: observed.encryption,
    snapshotsByKey,
    findings: checkApplication(event.context, observed, event.expectations).map((c) => asff(event.context, c, event.applicationName, at)),
  };
});
