/**
 * Lambda (2015-03-31 REST-JSON): functions are their code (a folder or a .zip package), handler,
 * environment and execution role. Invoke runs the handler in an execution environment of its own (a
 * worker thread, local/sandbox/lambda-runtime.cjs) with the environment Lambda sets — AWS_REGION, the
 * function's variables, and the execution role's session, which the sandbox obtains by assuming that
 * role as lambda.amazonaws.com — plus AWS_ENDPOINT_URL pointing at the sandbox. Nothing of a function is
 * imported into the sandbox's own process.
 *
 * Code: `ZipFile` (base64 in the request, as the SDK and `aws lambda create-function --zip-file` send
 * it), or, without packaging, a folder on this machine named LocalStack's way: `S3Bucket: "hot-reload"`,
 * `S3Key: <absolute folder>` (how the template deployer hands over the asset folders CDK built).
 * Function errors come back as Lambda's: status 200 with `X-Amz-Function-Error: Unhandled` and
 * `{errorType, errorMessage, trace}`, so Step Functions sees the error names it sees in AWS.
 * Not modelled: versions and aliases (only $LATEST), layers, resource-based policies, VPC, concurrency limits.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { AwsError } from '../errors';
import { findRole } from '../lookup';
import { unzip } from '../zip';
import { assumeRoleAsService } from './sts';
import { appendLogEvents } from './logs';
import type { RestRoute } from '../protocols/rest-json';
import type { Sandbox, Service } from '../sandbox';
import type { LambdaFunction, SandboxState } from '../state';

const RUNTIMES = new Set(['nodejs18.x', 'nodejs20.x', 'nodejs22.x', 'nodejs24.x']);
/** Keys Lambda sets itself and refuses in a function's environment. */
const RESERVED = [
  '_HANDLER',
  '_X_AMZN_TRACE_ID',
  'AWS_DEFAULT_REGION',
  'AWS_REGION',
  'AWS_EXECUTION_ENV',
  'AWS_LAMBDA_FUNCTION_NAME',
  'AWS_LAMBDA_FUNCTION_MEMORY_SIZE',
  'AWS_LAMBDA_FUNCTION_VERSION',
  'AWS_LAMBDA_INITIALIZATION_TYPE',
  'AWS_LAMBDA_LOG_GROUP_NAME',
  'AWS_LAMBDA_LOG_STREAM_NAME',
  'AWS_ACCESS_KEY',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_LAMBDA_RUNTIME_API',
  'LAMBDA_TASK_ROOT',
  'LAMBDA_RUNTIME_DIR',
];
const MAX_SYNC_PAYLOAD = 6 * 1024 * 1024;
const RUNTIME_FILE = join(__dirname, '..', 'lambda-runtime.cjs');
/** Credentials of an environment are renewed when they have less than this left (sandbox clock). */
const CREDENTIAL_MARGIN_MS = 5 * 60 * 1000;

export const lambdaRoutes: RestRoute[] = [
  { operation: 'CreateFunction', method: 'POST', path: '/2015-03-31/functions', status: 201 },
  { operation: 'ListFunctions', method: 'GET', path: '/2015-03-31/functions', query: { Marker: 'Marker', MaxItems: 'MaxItems' } },
  { operation: 'GetFunction', method: 'GET', path: '/2015-03-31/functions/{FunctionName}', query: { Qualifier: 'Qualifier' } },
  { operation: 'GetFunctionConfiguration', method: 'GET', path: '/2015-03-31/functions/{FunctionName}/configuration', query: { Qualifier: 'Qualifier' } },
  { operation: 'UpdateFunctionCode', method: 'PUT', path: '/2015-03-31/functions/{FunctionName}/code' },
  { operation: 'UpdateFunctionConfiguration', method: 'PUT', path: '/2015-03-31/functions/{FunctionName}/configuration' },
  { operation: 'DeleteFunction', method: 'DELETE', path: '/2015-03-31/functions/{FunctionName}', query: { Qualifier: 'Qualifier' }, status: 204 },
  {
    operation: 'Invoke',
    method: 'POST',
    path: '/2015-03-31/functions/{FunctionName}/invocations',
    query: { Qualifier: 'Qualifier' },
    headers: { 'x-amz-invocation-type': 'InvocationType', 'x-amz-log-type': 'LogType', 'x-amz-client-context': 'ClientContext' },
    payload: 'Payload',
    statusMember: 'StatusCode',
    outputHeaders: { FunctionError: 'x-amz-function-error', LogResult: 'x-amz-log-result', ExecutedVersion: 'x-amz-executed-version' },
    outputPayload: 'Payload',
  },
];

const invalid = (message: string) => new AwsError('InvalidParameterValueException', message, 400);
const functionArn = (sandbox: Sandbox, name: string) => `arn:aws:lambda:${sandbox.region}:${sandbox.account}:function:${name}`;

export function lambdaState(sandbox: Sandbox): NonNullable<SandboxState['lambda']> {
  return (sandbox.state.lambda ??= { functions: {} });
}

/** A function name from a name, an ARN or a partial ARN, with its qualifier; other accounts and regions are not here. */
function nameOf(sandbox: Sandbox, ref: unknown, qualifier?: unknown): string {
  if (typeof ref !== 'string' || !ref)
    throw new AwsError(
      'ValidationException',
      `1 validation error detected: Value null at 'functionName' failed to satisfy constraint: Member must not be null`,
      400,
    );
  const m = /^(?:arn:aws[a-z-]*:lambda:([a-z0-9-]+):(\d{12}):function:|(\d{12}):function:)?([A-Za-z0-9_-]{1,64})(?::([A-Za-z0-9$_-]+))?$/.exec(ref);
  if (!m)
    throw new AwsError(
      'ValidationException',
      `1 validation error detected: Value '${ref}' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\\d{1}:)?(\\d{12}:)?(function:)?([a-zA-Z0-9-_\\.]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?`,
      400,
    );
  const [, region, account, shortAccount, name, arnQualifier] = m;
  const q = (qualifier as string | undefined) ?? arnQualifier;
  if ((region && region !== sandbox.region) || ((account ?? shortAccount) && (account ?? shortAccount) !== sandbox.account) || (q && q !== '$LATEST')) {
    throw notFound(sandbox, name, q);
  }
  return name;
}

const notFound = (sandbox: Sandbox, name: string, qualifier?: string) =>
  new AwsError('ResourceNotFoundException', `Function not found: ${functionArn(sandbox, name)}${qualifier ? `:${qualifier}` : ''}`, 404);

function existing(sandbox: Sandbox, name: string): LambdaFunction {
  const fn = lambdaState(sandbox).functions[name];
  if (!fn) throw notFound(sandbox, name);
  return fn;
}

/** Where the code lives, its size and hash: a folder as is, a .zip package unpacked once per content. */
function storeCode(code: any): Pick<LambdaFunction, 'CodeLocation' | 'CodeSha256' | 'CodeSize'> {
  if (code?.ZipFile) {
    const zip = Buffer.from(String(code.ZipFile), 'base64');
    const sha = createHash('sha256').update(zip).digest();
    const dir = join(tmpdir(), 'sandbox-lambda-code', sha.toString('hex'));
    if (!existsSync(dir)) {
      let files: Map<string, Buffer>;
      try {
        files = unzip(zip);
      } catch (e) {
        throw invalid(`Could not unzip uploaded file. Please check your file, then try to upload again. (${(e as Error).message})`);
      }
      for (const [name, data] of files) {
        const file = join(dir, name);
        if (!file.startsWith(`${dir}/`)) throw invalid(`Could not unzip uploaded file: entry ${name} leaves the package.`);
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, data);
      }
      mkdirSync(dir, { recursive: true });
    }
    return { CodeLocation: dir, CodeSha256: sha.toString('base64'), CodeSize: zip.length };
  }
  if (code?.S3Bucket === 'hot-reload') {
    const dir = String(code.S3Key ?? '');
    if (!dir.startsWith('/') || !existsSync(dir) || !statSync(dir).isDirectory())
      throw invalid(`Code S3Key for the hot-reload bucket must be an absolute folder on this machine (got ${dir || 'nothing'}).`);
    return { CodeLocation: dir, CodeSha256: createHash('sha256').update(dir).digest('base64'), CodeSize: 0 };
  }
  if (code?.S3Bucket)
    throw invalid(
      `Error occurred while GetObject. S3 Error Code: NoSuchBucket. S3 Error Message: The specified bucket does not exist (this sandbox has no S3: send ZipFile, or S3Bucket "hot-reload" with the code folder as S3Key)`,
    );
  if (code?.ImageUri) throw invalid('Container image functions are not run by this sandbox (PackageType Zip only).');
  throw invalid('Please provide a source for function code.');
}

function checkEnvironment(env: any): Record<string, string> {
  const vars: Record<string, string> = Object.fromEntries(Object.entries(env?.Variables ?? {}).map(([k, v]) => [k, String(v)]));
  const reserved = Object.keys(vars).filter((k) => RESERVED.includes(k));
  if (reserved.length) {
    throw invalid(
      `Lambda was unable to configure your environment variables because the environment variables you have provided contains reserved keys that are currently not supported for modification. Reserved keys used in this request: ${reserved.join(', ')}`,
    );
  }
  if (Buffer.byteLength(JSON.stringify(vars)) > 4096)
    throw invalid('Lambda was unable to configure your environment variables because the environment variables you have provided exceeded the 4KB limit.');
  return vars;
}

/** The caller may pass the role to Lambda, and Lambda can assume it. */
function checkRole(sandbox: Sandbox, caller: any, roleArn: unknown): string {
  if (typeof roleArn !== 'string' || !/^arn:aws[a-z-]*:iam::\d{12}:role\/.+/.test(roleArn)) {
    throw new AwsError(
      'ValidationException',
      `1 validation error detected: Value '${roleArn ?? 'null'}' at 'role' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:(aws[a-zA-Z-]*)?:iam::\\d{12}:role/?[a-zA-Z_0-9+=,.@\\-_/]+`,
      400,
    );
  }
  sandbox.authorize('lambda', caller, 'iam:PassRole', roleArn, { context: { 'iam:PassedToService': 'lambda.amazonaws.com' } });
  const role = findRole(sandbox.state, roleArn);
  const trusted =
    role &&
    sandbox.isRoleVisible(roleArn) &&
    sandbox.evaluate('lambda.amazonaws.com', 'sts:AssumeRole', role.Arn, { resourcePolicy: role.AssumeRolePolicyDocument }).decision === 'Allowed';
  if (!trusted) throw invalid('The role defined for the function cannot be assumed by Lambda.');
  return roleArn;
}

const isoTime = (ms: number) => new Date(ms).toISOString().replace('Z', '+0000');

function configuration(fn: LambdaFunction) {
  const { CodeLocation: _code, Tags: _tags, LastModified, ...rest } = fn;
  return {
    ...rest,
    LastModified: isoTime(LastModified),
    Version: '$LATEST',
    State: 'Active',
    LastUpdateStatus: 'Successful',
    PackageType: 'Zip',
    Environment: { Variables: fn.Environment },
    TracingConfig: { Mode: fn.TracingMode },
  };
}

// ---------------------------------------------------------------------------------------------
// Execution environments

let runtimeModules: string | undefined;
/** A node_modules folder holding only `@aws-sdk` (what the Node.js runtimes provide), linked to the sandbox's copy. */
function runtimeModulesDir(): string {
  if (runtimeModules) return runtimeModules;
  const sdk = dirname(dirname(require.resolve('@aws-sdk/client-sts/package.json')));
  const dir = join(tmpdir(), `sandbox-lambda-runtime-${createHash('sha256').update(sdk).digest('hex').slice(0, 12)}`, 'node_modules');
  mkdirSync(dir, { recursive: true });
  if (!existsSync(join(dir, '@aws-sdk'))) {
    try {
      symlinkSync(sdk, join(dir, '@aws-sdk'), 'dir');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
  return (runtimeModules = dir);
}

interface Environment {
  worker: Worker;
  busy: boolean;
  revision: string;
  expiresAt: number;
  group: string;
  stream: string;
  lines: string[];
}
const pools = new WeakMap<Sandbox, Map<string, Environment[]>>();

function poolOf(sandbox: Sandbox, name: string): Environment[] {
  let byFunction = pools.get(sandbox);
  if (!byFunction) {
    byFunction = new Map();
    pools.set(sandbox, byFunction);
    const all = byFunction;
    sandbox.disposers.push(async () => {
      await Promise.all([...all.values()].flat().map((e) => e.worker.terminate()));
      all.clear();
    });
  }
  let pool = byFunction.get(name);
  if (!pool) byFunction.set(name, (pool = []));
  return pool;
}

/** Ends the idle environments of a function (its code or configuration changed, or it is gone). */
function retire(sandbox: Sandbox, name: string): void {
  const pool = poolOf(sandbox, name);
  for (const env of pool.splice(0)) if (!env.busy) void env.worker.terminate();
}

const revisionOf = (fn: LambdaFunction) =>
  createHash('sha256')
    .update(JSON.stringify([fn.CodeSha256, fn.Handler, fn.Environment, fn.Role, fn.MemorySize, fn.Runtime]))
    .digest('hex');

function startEnvironment(sandbox: Sandbox, fn: LambdaFunction): Environment {
  if (!sandbox.endpoint) throw new AwsError('ServiceException', 'The sandbox has no HTTP endpoint for functions to call (start it with startSandbox).', 500);
  let session: ReturnType<typeof assumeRoleAsService>;
  try {
    session = assumeRoleAsService(sandbox, 'lambda.amazonaws.com', fn.Role, fn.FunctionName);
  } catch {
    throw new AwsError('AccessDeniedException', 'The role defined for the function cannot be assumed by Lambda.', 502);
  }
  const now = new Date(sandbox.clock.now());
  const stream = `${now.toISOString().slice(0, 10).replace(/-/g, '/')}/[$LATEST]${randomBytes(16).toString('hex')}`;
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    LANG: 'en_US.UTF-8',
    TZ: ':UTC',
    ...fn.Environment,
    AWS_REGION: sandbox.region,
    AWS_DEFAULT_REGION: sandbox.region,
    AWS_EXECUTION_ENV: `AWS_Lambda_${fn.Runtime}`,
    AWS_LAMBDA_FUNCTION_NAME: fn.FunctionName,
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.MemorySize),
    AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
    AWS_LAMBDA_LOG_GROUP_NAME: fn.LoggingConfig?.LogGroup ?? `/aws/lambda/${fn.FunctionName}`,
    AWS_LAMBDA_LOG_STREAM_NAME: stream,
    AWS_ACCESS_KEY_ID: session.AccessKeyId,
    AWS_SECRET_ACCESS_KEY: session.SecretAccessKey,
    AWS_SESSION_TOKEN: session.SessionToken,
    LAMBDA_TASK_ROOT: fn.CodeLocation,
    NODE_PATH: `${runtimeModulesDir()}:${fn.CodeLocation}`,
    LAMBDA_RUNTIME_DIR: dirname(RUNTIME_FILE),
    _HANDLER: fn.Handler,
    // The one addition: the SDK's standard endpoint variable, so the function's clients reach the sandbox.
    AWS_ENDPOINT_URL: sandbox.endpoint,
  };
  const worker = new Worker(RUNTIME_FILE, { env, stdout: true, stderr: true, workerData: { functionArn: fn.FunctionArn, esm: false } });
  const group = env.AWS_LAMBDA_LOG_GROUP_NAME;
  const environment: Environment = {
    worker,
    busy: false,
    revision: revisionOf(fn),
    expiresAt: session.Expiration - CREDENTIAL_MARGIN_MS,
    group,
    stream,
    lines: [],
  };
  for (const stdio of [worker.stdout, worker.stderr]) {
    let partial = '';
    stdio.setEncoding('utf8');
    stdio.on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop()!;
      for (const line of parts) {
        environment.lines.push(line);
        appendLogEvents(sandbox, group, stream, [line]);
        sandbox.lambdaOutput?.(fn.FunctionName, line);
      }
    });
  }
  worker.unref();
  return environment;
}

function acquire(sandbox: Sandbox, fn: LambdaFunction): Environment {
  const pool = poolOf(sandbox, fn.FunctionName);
  const revision = revisionOf(fn);
  const now = sandbox.clock.now();
  // Stale environments (old code or configuration, credentials about to expire) are not reused.
  for (const env of [...pool]) {
    if (!env.busy && (env.revision !== revision || env.expiresAt <= now)) {
      pool.splice(pool.indexOf(env), 1);
      void env.worker.terminate();
    }
  }
  const idle = pool.find((e) => !e.busy);
  if (idle) return idle;
  const fresh = startEnvironment(sandbox, fn);
  pool.push(fresh);
  return fresh;
}

interface Outcome {
  payload: string;
  functionError?: 'Unhandled';
  logTail: string[];
}

/** Runs one invocation in an environment; a timeout or a crash ends that environment, as Lambda's do. */
function run(sandbox: Sandbox, fn: LambdaFunction, payload: string): Promise<Outcome> {
  const env = acquire(sandbox, fn);
  env.busy = true;
  const requestId = randomUUID();
  const started = Date.now();
  const firstLine = env.lines.length;
  const log = (line: string) => {
    env.lines.push(line);
    appendLogEvents(sandbox, env.group, env.stream, [line]);
  };
  log(`START RequestId: ${requestId} Version: $LATEST`);
  const traceId = `Root=1-${Math.floor(Date.now() / 1000).toString(16)}-${randomBytes(12).toString('hex')};Parent=${randomBytes(8).toString('hex')};Sampled=0`;
  return new Promise<Outcome>((resolve) => {
    let settled = false;
    const finish = (outcome: Omit<Outcome, 'logTail'>, keep: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      env.worker.off('message', onMessage);
      env.worker.off('exit', onExit);
      env.worker.off('error', onError);
      log(`END RequestId: ${requestId}`);
      log(`REPORT RequestId: ${requestId}\tDuration: ${(Date.now() - started).toFixed(2)} ms\tMemory Size: ${fn.MemorySize} MB`);
      const pool = poolOf(sandbox, fn.FunctionName);
      if (keep) env.busy = false;
      else {
        pool.splice(pool.indexOf(env), 1);
        void env.worker.terminate();
      }
      resolve({ ...outcome, logTail: env.lines.slice(firstLine) });
    };
    const failure = (errorType: string, errorMessage: string) => ({
      payload: JSON.stringify({ errorType, errorMessage }),
      functionError: 'Unhandled' as const,
    });
    const onMessage = (m: { requestId: string; payload?: string; error?: unknown }) => {
      if (m.requestId !== requestId) return;
      finish(m.error ? { payload: JSON.stringify(m.error), functionError: 'Unhandled' } : { payload: m.payload! }, true);
    };
    const onExit = (code: number) =>
      finish(failure('Runtime.ExitError', `RequestId: ${requestId} Error: Runtime exited with error: exit status ${code}`), false);
    const onError = (e: Error) =>
      finish(failure('Runtime.ExitError', `RequestId: ${requestId} Error: Runtime exited with error: ${e.name}: ${e.message}`), false);
    const timer = setTimeout(
      () => finish(failure('Sandbox.Timedout', `RequestId: ${requestId} Error: Task timed out after ${fn.Timeout.toFixed(2)} seconds`), false),
      fn.Timeout * 1000,
    );
    env.worker.on('message', onMessage);
    env.worker.once('exit', onExit);
    env.worker.once('error', onError);
    env.worker.postMessage({ requestId, payload, deadline: started + fn.Timeout * 1000, traceId });
  });
}

// ---------------------------------------------------------------------------------------------
// Operations

export const lambdaService: Service = {
  name: 'lambda',
  protocol: 'rest-json',
  routes: lambdaRoutes,
  readOnly: new Set(['GetFunction', 'GetFunctionConfiguration', 'ListFunctions', 'Invoke']),
  operations: {
    CreateFunction: (input, { sandbox, caller }) => {
      const name = String(input.FunctionName ?? '');
      if (!/^[A-Za-z0-9_-]{1,64}$/.test(name))
        throw new AwsError(
          'ValidationException',
          `1 validation error detected: Value '${name}' at 'functionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9-_]+`,
          400,
        );
      const arn = functionArn(sandbox, name);
      sandbox.authorize('lambda', caller, 'lambda:CreateFunction', arn);
      const runtime = String(input.Runtime ?? '');
      if (!RUNTIMES.has(runtime))
        throw invalid(`The runtime parameter of ${runtime || 'null'} is not run by this sandbox (Node.js runtimes: ${[...RUNTIMES].join(', ')}).`);
      if (!input.Handler) throw invalid('The handler parameter is required for Zip functions.');
      const role = checkRole(sandbox, caller, input.Role);
      const environment = checkEnvironment(input.Environment);
      if (lambdaState(sandbox).functions[name]) throw new AwsError('ResourceConflictException', `Function already exist: ${name}`, 409);
      const fn: LambdaFunction = {
        FunctionName: name,
        FunctionArn: arn,
        Runtime: runtime,
        Role: role,
        Handler: String(input.Handler),
        Description: String(input.Description ?? ''),
        Timeout: Number(input.Timeout ?? 3),
        MemorySize: Number(input.MemorySize ?? 128),
        Environment: environment,
        TracingMode: input.TracingConfig?.Mode === 'Active' ? 'Active' : 'PassThrough',
        ...(input.LoggingConfig && { LoggingConfig: input.LoggingConfig }),
        Architectures: input.Architectures ?? ['x86_64'],
        LastModified: sandbox.clock.now(),
        RevisionId: randomUUID(),
        Tags: input.Tags ?? {},
        ...storeCode(input.Code),
      };
      if (!(fn.Timeout >= 1 && fn.Timeout <= 900))
        throw invalid(
          `1 validation error detected: Value '${fn.Timeout}' at 'timeout' failed to satisfy constraint: Member must have value less than or equal to 900`,
        );
      lambdaState(sandbox).functions[name] = fn;
      return configuration(fn);
    },

    GetFunction: (input, { sandbox, caller }) => {
      const name = nameOf(sandbox, input.FunctionName, input.Qualifier);
      sandbox.authorize('lambda', caller, 'lambda:GetFunction', functionArn(sandbox, name));
      const fn = existing(sandbox, name);
      return { Configuration: configuration(fn), Code: { RepositoryType: 'S3', Location: `file://${fn.CodeLocation}` }, Tags: fn.Tags };
    },

    GetFunctionConfiguration: (input, { sandbox, caller }) => {
      const name = nameOf(sandbox, input.FunctionName, input.Qualifier);
      sandbox.authorize('lambda', caller, 'lambda:GetFunctionConfiguration', functionArn(sandbox, name));
      return configuration(existing(sandbox, name));
    },

    ListFunctions: (input, { sandbox, caller }) => {
      sandbox.authorize('lambda', caller, 'lambda:ListFunctions', '*');
      const all = Object.values(lambdaState(sandbox).functions).sort((a, b) => a.FunctionName.localeCompare(b.FunctionName));
      const start = input.Marker ? Number(Buffer.from(String(input.Marker), 'base64url').toString()) : 0;
      if (!Number.isInteger(start) || start < 0) throw invalid('Invalid marker.');
      const max = Math.min(Number(input.MaxItems ?? 50), 50);
      const end = start + max;
      return { Functions: all.slice(start, end).map(configuration), NextMarker: end < all.length ? Buffer.from(String(end)).toString('base64url') : undefined };
    },

    UpdateFunctionCode: (input, { sandbox, caller }) => {
      const name = nameOf(sandbox, input.FunctionName);
      sandbox.authorize('lambda', caller, 'lambda:UpdateFunctionCode', functionArn(sandbox, name));
      const fn = existing(sandbox, name);
      Object.assign(fn, storeCode(input), { LastModified: sandbox.clock.now(), RevisionId: randomUUID() });
      retire(sandbox, name);
      return configuration(fn);
    },

    UpdateFunctionConfiguration: (input, { sandbox, caller }) => {
      const name = nameOf(sandbox, input.FunctionName);
      sandbox.authorize('lambda', caller, 'lambda:UpdateFunctionConfiguration', functionArn(sandbox, name));
      const fn = existing(sandbox, name);
      if (input.Runtime !== undefined && !RUNTIMES.has(String(input.Runtime)))
        throw invalid(`The runtime parameter of ${input.Runtime} is not run by this sandbox.`);
      const changes: Partial<LambdaFunction> = {
        ...(input.Role !== undefined && { Role: checkRole(sandbox, caller, input.Role) }),
        ...(input.Environment !== undefined && { Environment: checkEnvironment(input.Environment) }),
        ...(input.Handler !== undefined && { Handler: String(input.Handler) }),
        ...(input.Runtime !== undefined && { Runtime: String(input.Runtime) }),
        ...(input.Timeout !== undefined && { Timeout: Number(input.Timeout) }),
        ...(input.MemorySize !== undefined && { MemorySize: Number(input.MemorySize) }),
        ...(input.Description !== undefined && { Description: String(input.Description) }),
        ...(input.TracingConfig !== undefined && { TracingMode: input.TracingConfig?.Mode === 'Active' ? ('Active' as const) : ('PassThrough' as const) }),
        ...(input.LoggingConfig !== undefined && { LoggingConfig: input.LoggingConfig }),
      };
      Object.assign(fn, changes, { LastModified: sandbox.clock.now(), RevisionId: randomUUID() });
      retire(sandbox, name);
      return configuration(fn);
    },

    DeleteFunction: (input, { sandbox, caller }) => {
      const name = nameOf(sandbox, input.FunctionName, input.Qualifier);
      sandbox.authorize('lambda', caller, 'lambda:DeleteFunction', functionArn(sandbox, name));
      existing(sandbox, name);
      delete lambdaState(sandbox).functions[name];
      retire(sandbox, name);
      return {};
    },

    Invoke: async (input, { sandbox, caller }) => {
      const name = nameOf(sandbox, input.FunctionName, input.Qualifier);
      sandbox.authorize('lambda', caller, 'lambda:InvokeFunction', functionArn(sandbox, name));
      const fn = existing(sandbox, name);
      const payload =
        input.Payload === undefined || input.Payload === ''
          ? '{}'
          : typeof input.Payload === 'string'
            ? input.Payload
            : Buffer.from(input.Payload).toString('utf8');
      const type = String(input.InvocationType ?? 'RequestResponse');
      if (!['RequestResponse', 'Event', 'DryRun'].includes(type))
        throw invalid(
          `1 validation error detected: Value '${type}' at 'invocationType' failed to satisfy constraint: Member must satisfy enum value set: [Event, RequestResponse, DryRun]`,
        );
      if (Buffer.byteLength(payload) > MAX_SYNC_PAYLOAD)
        throw new AwsError('RequestTooLargeException', `Request must be smaller than ${MAX_SYNC_PAYLOAD} bytes for the InvokeFunction operation`, 413);
      try {
        JSON.parse(payload);
      } catch {
        throw new AwsError('InvalidRequestContentException', 'Could not parse request body into json: Could not parse payload into json', 400);
      }
      if (type === 'DryRun') return { StatusCode: 204, Payload: '' };
      if (type === 'Event') {
        void run(sandbox, fn, payload);
        return { StatusCode: 202, Payload: '' };
      }
      const outcome = await run(sandbox, fn, payload);
      const tail = input.LogType === 'Tail' ? Buffer.from(outcome.logTail.join('\n')).subarray(-4096).toString('base64') : undefined;
      return { StatusCode: 200, FunctionError: outcome.functionError, ExecutedVersion: '$LATEST', LogResult: tail, Payload: outcome.payload };
    },
  },
};
