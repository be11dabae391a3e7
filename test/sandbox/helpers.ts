/** Test helpers: a sandbox on port 0 and SDK clients for root or for a role session. */
import { IAMClient } from '@aws-sdk/client-iam';
import { STSClient } from '@aws-sdk/client-sts';
import { KMSClient } from '@aws-sdk/client-kms';
import { KinesisAnalyticsV2Client } from '@aws-sdk/client-kinesis-analytics-v2';
import { startSandbox, type RunningSandbox } from '../../local/sandbox/server';
import { assumeRoleAsService } from '../../local/sandbox/services/sts';
import type { SandboxOptions } from '../../local/sandbox/sandbox';

export interface Credentials { accessKeyId: string; secretAccessKey: string; sessionToken?: string }

export async function testSandbox(options: SandboxOptions = {}): Promise<RunningSandbox> {
  return startSandbox({ port: 0, ...options });
}

/** One client of each service, signed with the given credentials (root `test`/`test` by default). */
export function clients(sb: RunningSandbox, credentials: Credentials = sb.clientConfig().credentials) {
  const config = { endpoint: sb.endpoint, region: sb.sandbox.region, credentials, maxAttempts: 1 };
  return {
    iam: new IAMClient(config),
    sts: new STSClient(config),
    kms: new KMSClient(config),
    flink: new KinesisAnalyticsV2Client(config),
  };
}

/**
 * Credentials for a role as a workload gets them (the Lambda service assumes the execution role):
 * the role's trust policy must name `lambda.amazonaws.com` — or pass another service principal.
 */
export function roleCredentials(sb: RunningSandbox, roleArn: string, service = 'lambda.amazonaws.com'): Credentials {
  const s = assumeRoleAsService(sb.sandbox, service, roleArn, 'test-session');
  return { accessKeyId: s.AccessKeyId, secretAccessKey: s.SecretAccessKey, sessionToken: s.SessionToken };
}
