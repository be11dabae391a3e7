/**
 * AWS REST-JSON (Lambda's 2015-03-31 API): the operation is the method and path, input members come
 * from path labels, the query string, headers and the body; errors carry `x-amzn-errortype`. A route
 * says where each member travels, as the service's Smithy model does with its http traits.
 */
import { AwsError } from '../errors';
import type { WireResponse } from './json';

export interface RestRoute {
  operation: string;
  method: string;
  /** `/2015-03-31/functions/{FunctionName}/invocations`: each `{Label}` is an input member. */
  path: string;
  /** Query parameter → input member. */
  query?: Record<string, string>;
  /** Request header (lower case) → input member. */
  headers?: Record<string, string>;
  /** The raw body is this member (Invoke's Payload) instead of a JSON structure. */
  payload?: string;
  /** Status of a success, unless the output member `statusMember` says otherwise. */
  status?: number;
  statusMember?: string;
  /** Output member → response header. */
  outputHeaders?: Record<string, string>;
  /** The raw response body is this output member. */
  outputPayload?: string;
}

const pattern = (path: string) => new RegExp(`^${path.replace(/\{(\w+)\}/g, '(?<$1>[^/]+)')}$`);

/** The route and input of a request, or undefined when no route has this method and path. */
export function matchRoute(
  routes: RestRoute[],
  method: string,
  path: string,
  query: Record<string, string>,
  headers: Record<string, string>,
  body: string,
): { route: RestRoute; input: Record<string, unknown> } | undefined {
  for (const route of routes) {
    if (route.method !== method) continue;
    // The AWS CLI writes ListFunctions with a trailing slash, the SDK without.
    const m = pattern(route.path).exec(path.length > 1 ? path.replace(/\/$/, '') : path);
    if (!m) continue;
    const input: Record<string, unknown> = {};
    if (route.payload) input[route.payload] = body;
    else if (body) {
      try {
        Object.assign(input, JSON.parse(body));
      } catch {
        throw new AwsError('InvalidRequestContentException', 'Could not parse request body into json: Unexpected character', 400);
      }
    }
    for (const [k, v] of Object.entries(m.groups ?? {})) input[k] = decodeURIComponent(v);
    for (const [q, member] of Object.entries(route.query ?? {})) if (query[q] !== undefined) input[member] = query[q];
    for (const [h, member] of Object.entries(route.headers ?? {})) if (headers[h] !== undefined) input[member] = headers[h];
    return { route, input };
  }
  return undefined;
}

export function restJsonResponse(route: RestRoute, result: any, requestId: string): WireResponse {
  const out = { ...(result ?? {}) };
  const headers: Record<string, string> = { 'content-type': 'application/json', 'x-amzn-requestid': requestId };
  const status = (route.statusMember && out[route.statusMember]) || route.status || 200;
  if (route.statusMember) delete out[route.statusMember];
  for (const [member, header] of Object.entries(route.outputHeaders ?? {})) {
    if (out[member] !== undefined) headers[header] = String(out[member]);
    delete out[member];
  }
  const body = route.outputPayload ? String(out[route.outputPayload] ?? '') : status === 204 ? '' : JSON.stringify(out);
  return { status, headers, body };
}

export function restJsonError(err: AwsError, requestId: string): WireResponse {
  return {
    status: err.status,
    headers: { 'content-type': 'application/json', 'x-amzn-requestid': requestId, 'x-amzn-errortype': err.code },
    body: JSON.stringify({ Type: err.fault === 'Sender' ? 'User' : 'Service', message: err.message }),
  };
}
