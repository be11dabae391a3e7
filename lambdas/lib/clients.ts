/**
 * The one AWS client factory. Region, endpoint, retries and the orchestrator's own credentials come
 * from the standard environment only (AWS_REGION, AWS_ENDPOINT_URL, AWS_MAX_ATTEMPTS, the credential
 * chain); a persona passes the temporary credentials it assumed. No endpoint or credential literals.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { IAMClient } from '@aws-sdk/client-iam';
import { KMSClient } from '@aws-sdk/client-kms';
import { KinesisAnalyticsV2Client } from '@aws-sdk/client-kinesis-analytics-v2';
import { STSClient } from '@aws-sdk/client-sts';

/** Temporary credentials from sts:AssumeRole, in the SDK's shape. */
export interface Credentials { accessKeyId: string; secretAccessKey: string; sessionToken?: string; expiration?: Date }

export interface AwsClients {
  iam: IAMClient;
  sts: STSClient;
  kms: KMSClient;
  flink: KinesisAnalyticsV2Client;
  dynamodb: DynamoDBClient;
  /**
   * The same clients with the SDK retrying `maxAttempts` times: only for a call that must not fail after
   * a non-idempotent one (CreateAlias after CreateKey), where a state-machine retry would repeat both.
   */
  retrying(maxAttempts: number): AwsClients;
}

export function awsClients(credentials?: Credentials, maxAttempts?: number): AwsClients {
  const config = { ...(credentials ? { credentials } : {}), ...(maxAttempts ? { maxAttempts } : {}) };
  return {
    retrying: (attempts) => awsClients(credentials, attempts),
    iam: new IAMClient(config),
    sts: new STSClient(config),
    kms: new KMSClient(config),
    flink: new KinesisAnalyticsV2Client(config),
    dynamodb: new DynamoDBClient(config),
  };
}
