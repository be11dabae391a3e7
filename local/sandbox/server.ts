/**
 * One HTTP port for every service. Dispatch by protocol: JSON 1.0/1.1 by `X-Amz-Target`, REST-JSON
 * (Lambda, Security Hub) by the signing name and the method and path, the Query protocol by the signing name (`iam`, `sts`). `/_sandbox/…` is the control endpoint for
 * faults, latency, the clock, the request log and the state. Other paths can be mounted (`mounts`): how a
 * tool of the product, such as its console, is served on the sandbox's port without the sandbox knowing it.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AwsError } from './errors';
import { jsonError, jsonResponse, parseJsonInput, type WireResponse } from './protocols/json';
import { matchRoute, restJsonError, restJsonResponse, type RestRoute } from './protocols/rest-json';
import { ec2Error, parseQueryInput, queryError, queryResponse, restXmlError } from './protocols/query';
import { parseAuthorization, signatureMatches, type IncomingSignedRequest } from './sigv4';
import { Sandbox, ROOT_ACCESS_KEY, ROOT_SECRET_KEY, type SandboxOptions, type Service } from './sandbox';
import { iamService } from './services/iam';
import { assumeRoleAsService, stsService } from './services/sts';
import { kmsService } from './services/kms';
import { kinesisAnalyticsService } from './services/kinesisanalytics';
import { dynamoDbService } from './services/dynamodb';
import { stepFunctionsService } from './services/stepfunctions';
import { eventBridgeService } from './services/eventbridge';
import { taggingService } from './services/tagging';
import { lambdaService } from './services/lambda';
import { logsService } from './services/logs';
import { sqsService } from './services/sqs';
import { securityHubService } from './services/securityhub';
import { call } from './dispatch';
import { DeployError, deployTemplate, readAssembly } from './deploy';
import { isThrottlingCode } from './quotas';

/** JSON 1.1 services name the authentication errors differently from the Query ones. */
const JSON_AUTH_CODES: Record<string, string> = {
  InvalidClientTokenId: 'UnrecognizedClientException',
  SignatureDoesNotMatch: 'InvalidSignatureException',
  ExpiredToken: 'ExpiredTokenException',
  MissingAuthenticationToken: 'MissingAuthenticationTokenException',
  IncompleteSignature: 'IncompleteSignatureException',
};

const SIGNATURE_MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';

/** Clock skew AWS tolerates between the request's X-Amz-Date and its own clock. */
const MAX_SKEW_MS = 15 * 60 * 1000;

export function createSandbox(options: SandboxOptions = {}): Sandbox {
  return new Sandbox(options)
    .register(iamService)
    .register(stsService)
    .register(kmsService)
    .register(kinesisAnalyticsService)
    .register(stepFunctionsService)
    .register(eventBridgeService)
    .register(dynamoDbService)
    .register(taggingService)
    .register(lambdaService)
    .register(logsService)
    .register(sqsService)
    .register(securityHubService);
}

interface Route {
  service: Service;
  operation: string;
  input: Record<string, unknown>;
  rest?: RestRoute;
}

/**
 * The protocol family a request speaks, read from the request alone, so that a service the sandbox does
 * not emulate still gets its error in the shape its SDK parses: JSON 1.0/1.1 by `X-Amz-Target`, Query
 * (and EC2's variant) by a form body or an `Action` parameter, REST-XML for the services that use it, and
 * REST-JSON (Lambda, API Gateway, …) for everything else.
 */
type Family = 'json' | 'query' | 'ec2' | 'rest-json' | 'rest-xml';
/** Signing names of the REST-XML services (AWS SDK v3 `awsRestXml`): S3 and the few like it. */
const REST_XML = new Set(['s3', 'route53', 'cloudfront']);

function familyOf(req: IncomingSignedRequest, signingName: string | undefined): Family {
  if (req.headers['x-amz-target']) return 'json';
  const form = /^application\/x-www-form-urlencoded/.test(req.headers['content-type'] ?? '') || 'Action' in req.query || /(^|&)Action=/.test(req.body);
  if (form) return signingName === 'ec2' ? 'ec2' : 'query';
  return signingName && REST_XML.has(signingName) ? 'rest-xml' : 'rest-json';
}

/**
 * A service (or a protocol of an emulated service) the sandbox does not emulate: each family's own
 * "no such operation" code (NotImplemented 501 in REST-XML, as S3 answers an unsupported request), one message.
 */
function notEmulated(family: Family, signingName: string): AwsError {
  // No list of services here: docs/sandbox.md ("What it emulates") is the one list.
  const message = `Service ${signingName} is not emulated by this sandbox (docs/sandbox.md lists what is).`;
  if (family === 'rest-xml') return new AwsError('NotImplemented', message, 501);
  return family === 'query' || family === 'ec2' ? new AwsError('InvalidAction', message, 400) : new AwsError('UnknownOperationException', message, 400);
}

/** Handles one signed AWS request end to end and returns the wire response. */
export async function handleAwsRequest(sandbox: Sandbox, req: IncomingSignedRequest): Promise<WireResponse> {
  const started = Date.now();
  const requestId = sandbox.requestId();
  const target = req.headers['x-amz-target'];
  let family: Family = target ? 'json' : 'query';
  let rest: RestRoute | undefined;
  let service: Service | undefined;
  let operation = target?.split('.')[1] ?? 'Unknown';
  let caller = 'anonymous';
  let signingName: string | undefined;
  let response: WireResponse;
  let message: string | undefined;
  try {
    const info = parseAuthorization(req);
    signingName = info?.service;
    family = familyOf(req, signingName);
    if (!info) throw new AwsError('MissingAuthenticationToken', 'Request is missing Authentication Token', 403);
    const route = routeRequest(sandbox, req, info.service);
    service = route.service;
    operation = route.operation;
    rest = route.rest;
    const { secret, principal } = sandbox.resolveAccessKey(info.accessKeyId, info.sessionToken);
    caller = principal.arn;
    if (Math.abs(Date.now() - info.date.getTime()) > MAX_SKEW_MS) {
      throw new AwsError('SignatureDoesNotMatch', 'Signature expired: the request time is too far from the server time.', 403);
    }
    if (!(await signatureMatches(req, info, secret))) throw new AwsError('SignatureDoesNotMatch', SIGNATURE_MISMATCH, 403);
    const result = await call(sandbox, route.service.name, route.operation, route.input, principal, requestId);
    response = rest
      ? restJsonResponse(rest, result, requestId)
      : route.service.protocol === 'json'
        ? jsonResponse(result, requestId)
        : queryResponse(route.operation, route.service.xmlns!, result, requestId);
  } catch (e) {
    const err = toAwsError(e, family);
    message = err.message;
    const xmlns = service?.xmlns ?? 'https://iam.amazonaws.com/doc/2010-05-08/';
    response =
      family === 'rest-json'
        ? restJsonError(err, requestId)
        : family === 'json'
          ? jsonError(err, requestId)
          : family === 'rest-xml'
            ? restXmlError(err, requestId)
            : family === 'ec2'
              ? ec2Error(err, requestId)
              : queryError(err, xmlns, requestId);
  }
  // AWS JSON 1.0 services (Step Functions) answer in the content type they were asked in.
  if (family === 'json' && req.headers['content-type'] === 'application/x-amz-json-1.0') response.headers['content-type'] = 'application/x-amz-json-1.0';
  sandbox.faults.record({
    time: new Date().toISOString(),
    caller,
    service: service?.name ?? signingName ?? 'unknown',
    operation,
    outcome: response.status < 300 ? 'OK' : errorCodeOf(response),
    status: response.status,
    durationMs: Date.now() - started,
    ...(message !== undefined && { message }),
  });
  return response;
}

function routeRequest(sandbox: Sandbox, req: IncomingSignedRequest, signingName: string): Route {
  const target = req.headers['x-amz-target'];
  const family = familyOf(req, signingName);
  if (target) {
    const [prefix, operation] = target.split('.');
    const service = [...sandbox.services.values()].find((s) => s.targetPrefix === prefix);
    if (!service) throw notEmulated(family, signingName);
    return { service, operation, input: parseJsonInput(req.body) };
  }
  const service = sandbox.services.get(signingName);
  if (service?.protocol === 'rest-json') {
    const matched = matchRoute(service.routes ?? [], req.method, req.path, req.query, req.headers, req.body);
    if (!matched) throw new AwsError('UnknownOperationException', `Unknown operation ${req.method} ${req.path}`, 404);
    return { service, operation: matched.route.operation, input: matched.input, rest: matched.route };
  }
  if (service?.protocol !== 'query' || family !== 'query') throw notEmulated(family, signingName);
  const params = new URLSearchParams(req.body);
  for (const [k, v] of Object.entries(req.query)) params.append(k, v);
  const { action, input } = parseQueryInput(params);
  return { service, operation: action, input };
}

function toAwsError(e: unknown, family: Family): AwsError {
  if (e instanceof AwsError) {
    const jsonCode = family === 'json' || family === 'rest-json' ? JSON_AUTH_CODES[e.code] : undefined;
    return jsonCode ? new AwsError(jsonCode, e.message, e.code === 'ExpiredToken' ? 400 : e.status === 403 ? 400 : e.status) : e;
  }
  console.error('[sandbox] internal error:', e);
  return new AwsError('InternalFailure', 'The request processing has failed because of an unknown error.', 500);
}

function errorCodeOf(res: WireResponse): string {
  if (res.headers['x-amzn-errortype']) return res.headers['x-amzn-errortype'];
  return /<Code>([^<]+)<\/Code>/.exec(res.body)?.[1] ?? String(res.status);
}

// ---------------------------------------------------------------------------------------------
// HTTP shell and control endpoint

export interface RunningSandbox {
  sandbox: Sandbox;
  server: Server;
  endpoint: string;
  port: number;
  /** SDK client options for the account root (`test` / `test`). */
  clientConfig(): { endpoint: string; region: string; credentials: { accessKeyId: string; secretAccessKey: string } };
  close(): Promise<void>;
}

/** A request to a mounted path, and whether it came from this machine (a mount may serve secrets to loopback only). */
export interface MountRequest {
  method: string;
  /** The path below the mount point, without its query. */
  path: string;
  loopback: boolean;
}
export type Mount = (req: MountRequest, sandbox: Sandbox) => Promise<WireResponse>;

export async function startSandbox(options: SandboxOptions & { port?: number; host?: string; mounts?: Record<string, Mount> } = {}): Promise<RunningSandbox> {
  const sandbox = createSandbox(options);
  const mounts = Object.entries(options.mounts ?? {});
  const host = options.host ?? '127.0.0.1';
  const loopbackOnly = LOOPBACK.has(host) || host === 'localhost';
  const server = createServer((req, res) => {
    const refusal = foreignRequest(req, loopbackOnly);
    if (refusal) {
      res.writeHead(403, { 'content-type': 'application/json' }).end(JSON.stringify({ error: refusal }));
      return;
    }
    void serve(sandbox, req, res, mounts);
  });
  // Idle keep-alive sockets stay open for 10 minutes. A server that closes one while a client reuses it makes
  // that request fail with ECONNRESET, and SDK clients making one attempt (tests, AWS_MAX_ATTEMPTS=1) then
  // fail outright; Node's 5 s default did so under load. close() still ends every connection at once.
  server.keepAliveTimeout = 600_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 4566, host, resolve);
  });
  const port = (server.address() as AddressInfo).port;
  const endpoint = `http://${host}:${port}`;
  sandbox.endpoint = endpoint;
  return {
    sandbox,
    server,
    endpoint,
    port,
    clientConfig: () => ({ endpoint, region: sandbox.region, credentials: { accessKeyId: ROOT_ACCESS_KEY, secretAccessKey: ROOT_SECRET_KEY } }),
    close: async () => {
      await new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
      await Promise.all(sandbox.disposers.splice(0).map((d) => d()));
    },
  };
}

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);
const LOOPBACK_HOST = /^(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/i;

/**
 * Why a request that only a web page could have sent is refused, if it is: the account's root keys are
 * public constants and the control endpoint is unsigned, so a page elsewhere must not reach either — by DNS
 * rebinding (a Host that is not loopback, while the sandbox listens on loopback only) or by a cross-site
 * request (an Origin other than the sandbox's own; browsers send it, SDKs do not).
 */
function foreignRequest(req: IncomingMessage, loopbackOnly: boolean): string | undefined {
  const host = req.headers.host ?? '';
  if (loopbackOnly && !LOOPBACK_HOST.test(host)) return `Host ${host || '(none)'} is not this sandbox's: it serves loopback names only`;
  const origin = req.headers.origin;
  if (origin !== undefined && URL.parse(origin)?.host !== host) return `Origin ${origin} is not this sandbox's (${host}): cross-site requests are refused`;
  return undefined;
}

async function serve(sandbox: Sandbox, req: IncomingMessage, res: ServerResponse, mounts: [string, Mount][]): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks).toString('utf8');
  const url = new URL(req.url ?? '/', 'http://localhost');
  let out: WireResponse;
  const mount = mounts.find(([prefix]) => url.pathname.startsWith(prefix) || `${url.pathname}/` === prefix);
  try {
    if (mount) {
      const loopback = LOOPBACK.has(req.socket.remoteAddress ?? '');
      out = await mount[1]({ method: req.method ?? 'GET', path: url.pathname.slice(mount[0].length), loopback }, sandbox);
    } else if (url.pathname.startsWith('/_sandbox/')) {
      out = await control(sandbox, req.method ?? 'GET', url.pathname.slice('/_sandbox/'.length), body, url.searchParams);
    } else {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
      const query: Record<string, string> = {};
      for (const [k, v] of url.searchParams) query[k] = v;
      out = await handleAwsRequest(sandbox, { method: req.method ?? 'POST', path: url.pathname, query, headers, body });
    }
  } catch (e) {
    out = { status: 400, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ error: (e as Error).message }) };
  }
  res.writeHead(out.status, { ...out.headers, 'content-length': Buffer.byteLength(out.body) });
  res.end(out.body);
}

/** The control endpoint: plain JSON, no signature (it listens on loopback only). */
async function control(sandbox: Sandbox, method: string, path: string, body: string, query: URLSearchParams): Promise<WireResponse> {
  try {
    if (`${method} ${path}` === 'POST deploy') {
      // `cdklocal deploy` for this sandbox: a stack of a cloud assembly folder on this machine.
      const input = body ? JSON.parse(body) : {};
      const result = await deployTemplate(
        sandbox,
        String(input.stackName),
        readAssembly(String(input.assemblyDir), String(input.stackName)),
        input.parameters ?? {},
      );
      return { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(result) };
    }
    return controlRoute(sandbox, method, path, body ? JSON.parse(body) : {}, query);
  } catch (e) {
    // An AWS refusal (e.g. a role that does not trust the service) keeps its status and code.
    if (e instanceof DeployError)
      return { status: 400, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ error: e.message, code: 'DeployError' }) };
    if (!(e instanceof AwsError)) throw e;
    return { status: e.status, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ error: e.message, code: e.code }) };
  }
}

function controlRoute(sandbox: Sandbox, method: string, path: string, input: any, query: URLSearchParams): WireResponse {
  const ok = (value: unknown = { ok: true }): WireResponse => ({ status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(value) });
  switch (`${method} ${path}`) {
    case 'GET health':
      // As LocalStack's /_localstack/health: each service and whether it is running.
      return ok({
        ok: true,
        account: sandbox.account,
        region: sandbox.region,
        services: Object.fromEntries([...sandbox.services.keys()].sort().map((s) => [s, 'running'])),
        stacks: Object.keys(sandbox.state.cloudformation?.stacks ?? {}),
      });
    case 'GET state':
      return ok(sandbox.snapshot());
    case 'PUT state':
      sandbox.restore(input);
      sandbox.persist();
      return ok();
    case 'GET log': {
      // `?from=N`: the entries from the Nth on, for a poller that has the first N; the header says how many there
      // are in all, so it can tell a cleared log (fewer than it has) from a quiet one.
      const log = sandbox.faults.log;
      const out = ok(log.slice(Number(query.get('from') ?? 0) || 0));
      out.headers['x-sandbox-log-length'] = String(log.length);
      return out;
    }
    case 'DELETE log':
      sandbox.faults.log.length = 0;
      return ok();
    case 'GET throttles': {
      // Throttling errors in the request log, by service:operation (what a benchmark reports).
      const byApi: Record<string, number> = {};
      for (const e of sandbox.faults.log.filter((x) => isThrottlingCode(x.outcome)))
        byApi[`${e.service}:${e.operation}`] = (byApi[`${e.service}:${e.operation}`] ?? 0) + 1;
      return ok({ total: Object.values(byApi).reduce((a, b) => a + b, 0), byApi });
    }
    case 'GET faults':
      return ok(sandbox.faults.pending());
    case 'POST faults':
      sandbox.faults.inject(input);
      return ok();
    case 'DELETE faults':
      sandbox.faults.clear();
      return ok();
    case 'POST latency':
      sandbox.faults.setLatency(input.service ?? '*', input.operation ?? '*', Number(input.ms));
      return ok();
    case 'POST clock/advance':
      sandbox.advance(Number(input.ms));
      return ok({ now: sandbox.clock.date().toISOString() });
    case 'POST credentials': {
      // A service (Lambda by default) assumes a role for a workload, as when a function starts with its
      // execution role: how a local orchestrator gets its own credentials (root cannot AssumeRole).
      const s = assumeRoleAsService(sandbox, input.service ?? 'lambda.amazonaws.com', String(input.roleArn), input.sessionName ?? 'sandbox-workload');
      return ok({
        accessKeyId: s.AccessKeyId,
        secretAccessKey: s.SecretAccessKey,
        sessionToken: s.SessionToken,
        expiration: new Date(s.Expiration).toISOString(),
      });
    }
    case 'POST config':
      if (input.iamPropagationDelayMs !== undefined) sandbox.iamPropagationDelayMs = Number(input.iamPropagationDelayMs);
      if (input.flinkDurations) Object.assign(sandbox.flinkDurations, input.flinkDurations);
      sandbox.quotas.configure({ limits: input.limits, rates: input.rates });
      return ok({ iamPropagationDelayMs: sandbox.iamPropagationDelayMs, flinkDurations: sandbox.flinkDurations, ...sandbox.quotas.view() });
    default:
      return { status: 404, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ error: `no control route ${method} /_sandbox/${path}` }) };
  }
}
