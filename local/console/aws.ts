/**
 * The console's AWS clients: the same SDK v3 clients the CLI uses, built for the browser, with the page's
 * origin (the sandbox) as the endpoint and the account root's keys from /_console/config.json.
 */
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { IAMClient } from '@aws-sdk/client-iam';
import { KinesisAnalyticsV2Client } from '@aws-sdk/client-kinesis-analytics-v2';
import { KMSClient } from '@aws-sdk/client-kms';
import { ListStateMachinesCommand, SFNClient, type StateMachineListItem } from '@aws-sdk/client-sfn';

export interface Config {
  region: string;
  account: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
}

export let config: Config;
export let sfn: SFNClient;
export let kms: KMSClient;
export let iam: IAMClient;
export let flink: KinesisAnalyticsV2Client;
export let events: EventBridgeClient;

export async function connect(): Promise<void> {
  const res = await fetch('/_console/config.json');
  if (!res.ok) throw new Error(`config: ${res.status} ${await res.text()}`);
  config = await res.json();
  // One attempt: a poll that fails shows its error and the next poll tries again.
  const options = { region: config.region, endpoint: location.origin, credentials: config.credentials, maxAttempts: 1 };
  sfn = new SFNClient(options);
  kms = new KMSClient(options);
  iam = new IAMClient(options);
  flink = new KinesisAnalyticsV2Client(options);
  events = new EventBridgeClient(options);
}

/** The next page's token, in each service's own naming (Step Functions, Flink, KMS, IAM). */
const tokenOf = (p: any): string | undefined =>
  p.nextToken ?? p.NextToken ?? (p.Truncated ? p.NextMarker : undefined) ?? (p.IsTruncated ? p.Marker : undefined);

/** Every page of a paginated list call. */
export async function all<T, P extends object>(fetchPage: (token?: string) => Promise<P>, items: (p: P) => T[] | undefined): Promise<T[]> {
  const out: T[] = [];
  let token: string | undefined;
  do {
    const page = await fetchPage(token);
    out.push(...(items(page) ?? []));
    token = tokenOf(page);
  } while (token);
  return out;
}

export const stateMachines = (): Promise<StateMachineListItem[]> =>
  all(
    (nextToken) => sfn.send(new ListStateMachinesCommand({ nextToken })),
    (p) => p.stateMachines,
  );

/** A deployed name without CDK's suffixes: MsfCmkOnboarding-OnboardApplicationA0DE7DD9-51B7E121B5E7 → OnboardApplication. */
export const shortName = (name = '') => name.replace(/^[A-Za-z0-9]+-/, '').replace(/[0-9A-F]{8}-[0-9A-F]{12}$/, '') || name;

/** An assumed-role ARN as "role / session"; root as root. */
export function persona(caller: string): string {
  const m = /:assumed-role\/([^/]+)\/(.+)$/.exec(caller);
  if (m) return `${m[1].replace(/^MsfCmkOnboarding-/, '').replace(/[0-9A-F]{8,}-[0-9A-F]{12}$/, '')} / ${m[2]}`;
  return caller.endsWith(':root') ? 'root' : caller;
}
