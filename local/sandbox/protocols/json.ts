/**
 * AWS JSON 1.1 (KMS `TrentService.*`, Managed Flink `KinesisAnalytics_20180523.*`): the operation is in
 * `X-Amz-Target`, input and output are JSON, errors are `{"__type": code, "message": …}`.
 */
import { AwsError } from '../errors';

export interface WireResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export function parseJsonInput(body: string): Record<string, unknown> {
  if (!body) return {};
  try {
    const parsed = JSON.parse(body);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
    return parsed;
  } catch {
    throw new AwsError('SerializationException', 'Start of structure or map found where not expected.', 400);
  }
}

export function jsonResponse(result: unknown, requestId: string): WireResponse {
  return {
    status: 200,
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': requestId },
    body: JSON.stringify(result ?? {}),
  };
}

export function jsonError(err: AwsError, requestId: string): WireResponse {
  return {
    status: err.status,
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': requestId, 'x-amzn-errortype': err.code },
    body: JSON.stringify({ __type: err.code, message: err.message }),
  };
}

/** JSON 1.1 timestamps are epoch seconds. */
export const epochSeconds = (ms: number | undefined) => (ms === undefined ? undefined : ms / 1000);
