/**
 * The Query protocol (IAM, STS): form-encoded `Action=…&Version=…` in, XML out, errors as
 * `<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>`.
 */
import { AwsError } from '../errors';
import type { WireResponse } from './json';

/**
 * Turns flattened Query parameters into nested values: `Tags.member.1.Key=a` → `{Tags: [{Key: 'a'}]}`,
 * `TagKeys.member.1=x` → `{TagKeys: ['x']}`.
 */
export function parseQueryInput(params: URLSearchParams): { action: string; version?: string; input: Record<string, unknown> } {
  const root: Record<string, any> = {};
  for (const [key, value] of params) {
    if (key === 'Action' || key === 'Version') continue;
    const parts = key.split('.');
    let node = root;
    parts.forEach((part, i) => {
      if (i === parts.length - 1) node[part] = value;
      else node = node[part] = typeof node[part] === 'object' ? node[part] : {};
    });
  }
  const action = params.get('Action');
  if (!action) throw new AwsError('MissingAction', 'Missing Action', 400);
  return { action, version: params.get('Version') ?? undefined, input: listify(root) };
}

function listify(node: any): any {
  if (typeof node !== 'object' || node === null) return node;
  const keys = Object.keys(node);
  if (keys.length === 1 && keys[0] === 'member' && typeof node.member === 'object') {
    return Object.keys(node.member)
      .sort((a, b) => Number(a) - Number(b))
      .map((k) => listify(node.member[k]));
  }
  // Maps arrive as `entry.N.key` / `entry.N.value` (e.g. STS session tags are lists, so this is rare).
  return Object.fromEntries(keys.map((k) => [k, listify(node[k])]));
}

const escapeXml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');

/** A map member (e.g. GetAccountSummary's SummaryMap): serialized as `<entry><key/><value/></entry>`. */
export class QueryMap {
  constructor(readonly entries: Record<string, unknown>) {}
}

/** Serializes a result: arrays become `<member>` lists, maps `<entry>` lists, objects nest, scalars are escaped text. */
export function toXml(name: string, value: unknown): string {
  if (value === undefined || value === null) return '';
  if (Array.isArray(value)) return `<${name}>${value.map((v) => toXml('member', v)).join('')}</${name}>`;
  if (value instanceof QueryMap) {
    const entries = Object.entries(value.entries).map(([k, v]) => `<entry>${toXml('key', k)}${toXml('value', v)}</entry>`);
    return `<${name}>${entries.join('')}</${name}>`;
  }
  if (typeof value === 'object') {
    const inner = Object.entries(value as object)
      .map(([k, v]) => toXml(k, v))
      .join('');
    return `<${name}>${inner}</${name}>`;
  }
  return `<${name}>${escapeXml(String(value))}</${name}>`;
}

export function queryResponse(action: string, xmlns: string, result: unknown, requestId: string): WireResponse {
  const body =
    `<${action}Response xmlns="${xmlns}">` +
    (result === undefined ? '' : toXml(`${action}Result`, result)) +
    `<ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${action}Response>`;
  return { status: 200, headers: { 'content-type': 'text/xml', 'x-amzn-requestid': requestId }, body };
}

export function queryError(err: AwsError, xmlns: string, requestId: string): WireResponse {
  const body =
    `<ErrorResponse xmlns="${xmlns}"><Error><Type>${err.fault}</Type><Code>${escapeXml(err.code)}</Code>` +
    `<Message>${escapeXml(err.message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`;
  return { status: err.status, headers: { 'content-type': 'text/xml', 'x-amzn-requestid': requestId }, body };
}

/** REST-XML (S3): the error is the document's root, `<Error><Code/><Message/><RequestId/></Error>`. */
export function restXmlError(err: AwsError, requestId: string): WireResponse {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${escapeXml(err.code)}</Code><Message>${escapeXml(err.message)}</Message><RequestId>${requestId}</RequestId></Error>`;
  return { status: err.status, headers: { 'content-type': 'application/xml', 'x-amz-request-id': requestId }, body };
}

/** EC2's Query variant: `<Response><Errors><Error><Code/><Message/></Error></Errors><RequestID/></Response>`. */
export function ec2Error(err: AwsError, requestId: string): WireResponse {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${escapeXml(err.code)}</Code><Message>${escapeXml(err.message)}</Message></Error></Errors><RequestID>${requestId}</RequestID></Response>`;
  return { status: err.status, headers: { 'content-type': 'text/xml;charset=UTF-8' }, body };
}

/** Query timestamps are ISO 8601. */
export const isoTime = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
