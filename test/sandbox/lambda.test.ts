/**
 * Lambda in the sandbox, through the real Lambda client (REST-JSON): functions from a folder or a .zip,
 * Invoke in an execution environment of their own with the environment Lambda sets and the execution
 * role's session, and Lambda's errors on the wire.
 */
import { crc32, deflateRawSync } from 'node:zlib';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreateFunctionCommand,
  DeleteFunctionCommand,
  GetFunctionCommand,
  InvokeCommand,
  ListFunctionsCommand,
  UpdateFunctionCodeCommand,
  UpdateFunctionConfigurationCommand,
} from '@aws-sdk/client-lambda';
import { CreateRoleCommand } from '@aws-sdk/client-iam';
import { CloudWatchLogsClient, CreateLogGroupCommand, FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { clients, deployFunction, roleCredentials, testSandbox } from './helpers';
import type { RunningSandbox } from '../../local/sandbox/server';

const A = '000000000000';
const decode = (p?: Uint8Array) => (p ? JSON.parse(Buffer.from(p).toString('utf8')) : undefined);
const payload = (v: unknown) => Buffer.from(JSON.stringify(v));

/** A .zip with stored and deflated entries, as packaging tools write them. */
function zip(files: Record<string, string>): Buffer {
  const locals: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  Object.entries(files).forEach(([name, text], i) => {
    const data = Buffer.from(text);
    const method = i % 2 ? 0 : 8;
    const body = method ? deflateRawSync(data) : data;
    const n = Buffer.from(name);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(crc32(data), 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(n.length, 26);
    const dir = Buffer.alloc(46);
    dir.writeUInt32LE(0x02014b50, 0);
    dir.writeUInt16LE(method, 10);
    dir.writeUInt32LE(crc32(data), 16);
    dir.writeUInt32LE(body.length, 20);
    dir.writeUInt32LE(data.length, 24);
    dir.writeUInt16LE(n.length, 28);
    dir.writeUInt32LE(offset, 42);
    locals.push(local, n, body);
    central.push(dir, n);
    offset += 30 + n.length + body.length;
  });
  const cd = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(Object.keys(files).length, 8);
  end.writeUInt16LE(Object.keys(files).length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

describe('Lambda on the sandbox', () => {
  let sb: RunningSandbox;
  let roleArn: string;
  const lambdaTrust = JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
  });

  beforeAll(async () => {
    sb = await testSandbox();
    roleArn = (await clients(sb).iam.send(new CreateRoleCommand({ RoleName: 'fn-role', AssumeRolePolicyDocument: lambdaTrust }))).Role!.Arn!;
  });
  afterAll(() => sb.close());

  it('runs a function from a .zip package with the environment Lambda sets and the execution role session', async () => {
    const { lambda } = clients(sb);
    const source = `
      const { STSClient, GetCallerIdentityCommand } = require('@aws-sdk/client-sts');
      exports.handler = async (event, context) => ({
        event, requestId: context.awsRequestId, remaining: context.getRemainingTimeInMillis() > 0,
        region: process.env.AWS_REGION, name: process.env.AWS_LAMBDA_FUNCTION_NAME, mine: process.env.MINE, handler: process.env._HANDLER,
        caller: (await new STSClient({}).send(new GetCallerIdentityCommand({}))).Arn,
      });`;
    const created = await lambda.send(
      new CreateFunctionCommand({
        FunctionName: 'zipped',
        Runtime: 'nodejs22.x',
        Handler: 'src/app.handler',
        Role: roleArn,
        Code: { ZipFile: zip({ 'src/app.js': source, 'README.md': 'x' }) },
        Environment: { Variables: { MINE: 'yes' } },
      }),
    );
    expect(created).toMatchObject({
      FunctionName: 'zipped',
      FunctionArn: `arn:aws:lambda:us-east-1:${A}:function:zipped`,
      Runtime: 'nodejs22.x',
      Handler: 'src/app.handler',
      Role: roleArn,
      State: 'Active',
      Timeout: 3,
      MemorySize: 128,
    });
    const out = await lambda.send(new InvokeCommand({ FunctionName: 'zipped', Payload: payload({ a: 1 }) }));
    expect(out.StatusCode).toBe(200);
    expect(out.FunctionError).toBeUndefined();
    expect(out.ExecutedVersion).toBe('$LATEST');
    expect(decode(out.Payload)).toMatchObject({
      event: { a: 1 },
      requestId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      remaining: true,
      region: 'us-east-1',
      name: 'zipped',
      mine: 'yes',
      handler: 'src/app.handler',
      caller: `arn:aws:sts::${A}:assumed-role/fn-role/zipped`,
    });
  });

  it('answers a function error as Lambda does: 200, X-Amz-Function-Error Unhandled, errorType and errorMessage', async () => {
    const { lambda } = clients(sb);
    await deployFunction(sb, 'thrower', "exports.handler = async () => { const e = new Error('no luck'); e.name = 'BadLuck'; throw e; };");
    const out = await lambda.send(new InvokeCommand({ FunctionName: `arn:aws:lambda:us-east-1:${A}:function:thrower`, LogType: 'Tail' }));
    expect(out.StatusCode).toBe(200);
    expect(out.FunctionError).toBe('Unhandled');
    expect(decode(out.Payload)).toMatchObject({ errorType: 'BadLuck', errorMessage: 'no luck', trace: expect.any(Array) });
    expect(Buffer.from(out.LogResult!, 'base64').toString()).toMatch(
      /START RequestId: [0-9a-f-]+ Version: \$LATEST[\s\S]*ERROR\tInvoke Error[\s\S]*END RequestId/,
    );
  });

  it('ends an invocation that runs past its timeout with Sandbox.Timedout, and the next one starts fresh', async () => {
    const { lambda } = clients(sb);
    await deployFunction(
      sb,
      'sleeper',
      'let n = 0; exports.handler = async (e) => { n++; if (e.sleep) await new Promise((r) => setTimeout(r, 5000)); return n; };',
      { timeout: 1 },
    );
    expect(decode((await lambda.send(new InvokeCommand({ FunctionName: 'sleeper' }))).Payload)).toBe(1);
    const slow = await lambda.send(new InvokeCommand({ FunctionName: 'sleeper', Payload: payload({ sleep: true }) }));
    expect(slow.FunctionError).toBe('Unhandled');
    expect(decode(slow.Payload)).toMatchObject({ errorType: 'Sandbox.Timedout', errorMessage: expect.stringMatching(/Task timed out after 1\.00 seconds$/) });
    expect(decode((await lambda.send(new InvokeCommand({ FunctionName: 'sleeper' }))).Payload)).toBe(1);
  });

  it('reports a handler it cannot load as Runtime.ImportModuleError or Runtime.HandlerNotFound', async () => {
    const { lambda } = clients(sb);
    const dir = mkdtempSync(join(tmpdir(), 'fn-bad-'));
    writeFileSync(join(dir, 'index.js'), 'exports.other = async () => 1;');
    await lambda.send(
      new CreateFunctionCommand({
        FunctionName: 'badhandler',
        Runtime: 'nodejs22.x',
        Handler: 'index.handler',
        Role: roleArn,
        Code: { S3Bucket: 'hot-reload', S3Key: dir },
      }),
    );
    expect(decode((await lambda.send(new InvokeCommand({ FunctionName: 'badhandler' }))).Payload)).toMatchObject({ errorType: 'Runtime.HandlerNotFound' });
    await lambda.send(new UpdateFunctionConfigurationCommand({ FunctionName: 'badhandler', Handler: 'missing.handler' }));
    expect(decode((await lambda.send(new InvokeCommand({ FunctionName: 'badhandler' }))).Payload)).toMatchObject({ errorType: 'Runtime.ImportModuleError' });
    await lambda.send(new UpdateFunctionConfigurationCommand({ FunctionName: 'badhandler', Handler: 'index.other' }));
    expect(decode((await lambda.send(new InvokeCommand({ FunctionName: 'badhandler' }))).Payload)).toBe(1);
  });

  it('runs the new code after UpdateFunctionCode, lists and gets functions, and deletes them', async () => {
    const { lambda } = clients(sb);
    await deployFunction(sb, 'versioned', 'exports.handler = async () => "v1";');
    expect(decode((await lambda.send(new InvokeCommand({ FunctionName: 'versioned' }))).Payload)).toBe('v1');
    await lambda.send(new UpdateFunctionCodeCommand({ FunctionName: 'versioned', ZipFile: zip({ 'index.js': 'exports.handler = async () => "v2";' }) }));
    expect(decode((await lambda.send(new InvokeCommand({ FunctionName: 'versioned' }))).Payload)).toBe('v2');
    const got = await lambda.send(new GetFunctionCommand({ FunctionName: 'versioned' }));
    expect(got.Configuration).toMatchObject({ FunctionName: 'versioned', CodeSha256: expect.any(String) });
    const listed = await lambda.send(new ListFunctionsCommand({}));
    expect(listed.Functions!.map((f) => f.FunctionName)).toContain('versioned');
    await lambda.send(new DeleteFunctionCommand({ FunctionName: 'versioned' }));
    await expect(lambda.send(new InvokeCommand({ FunctionName: 'versioned' }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
      message: `Function not found: arn:aws:lambda:us-east-1:${A}:function:versioned`,
      $metadata: { httpStatusCode: 404 },
    });
  });

  it('writes what a function prints to its log group, with the START, END and REPORT lines', async () => {
    const logs = new CloudWatchLogsClient({ ...sb.clientConfig(), maxAttempts: 1 });
    await logs.send(new CreateLogGroupCommand({ logGroupName: '/aws/lambda/printer' }));
    await deployFunction(sb, 'printer', 'exports.handler = async (e) => { console.log("hello", e.who); return null; };');
    await clients(sb).lambda.send(new InvokeCommand({ FunctionName: 'printer', Payload: payload({ who: 'world' }) }));
    await new Promise((r) => setTimeout(r, 50));
    const { events } = await logs.send(new FilterLogEventsCommand({ logGroupName: '/aws/lambda/printer' }));
    const lines = events!.map((e) => e.message);
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^START RequestId/),
        'hello world',
        expect.stringMatching(/^END RequestId/),
        expect.stringMatching(/^REPORT RequestId/),
      ]),
    );
  });

  it('refuses what Lambda refuses, with its error names', async () => {
    const { lambda, iam } = clients(sb);
    const code = { S3Bucket: 'hot-reload', S3Key: mkdtempSync(join(tmpdir(), 'fn-')) };
    const untrusting = (
      await iam.send(
        new CreateRoleCommand({
          RoleName: 'not-for-lambda',
          AssumeRolePolicyDocument: JSON.stringify({
            Version: '2012-10-17',
            Statement: [{ Effect: 'Allow', Principal: { Service: 'states.amazonaws.com' }, Action: 'sts:AssumeRole' }],
          }),
        }),
      )
    ).Role!.Arn!;
    await expect(
      lambda.send(new CreateFunctionCommand({ FunctionName: 'x1', Runtime: 'nodejs22.x', Handler: 'index.handler', Role: untrusting, Code: code })),
    ).rejects.toMatchObject({ name: 'InvalidParameterValueException', message: 'The role defined for the function cannot be assumed by Lambda.' });
    await expect(
      lambda.send(
        new CreateFunctionCommand({
          FunctionName: 'x2',
          Runtime: 'nodejs22.x',
          Handler: 'index.handler',
          Role: roleArn,
          Code: code,
          Environment: { Variables: { AWS_REGION: 'eu-west-1' } },
        }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidParameterValueException', message: expect.stringMatching(/reserved keys .*: AWS_REGION$/) });
    await expect(
      lambda.send(
        new CreateFunctionCommand({
          FunctionName: 'x3',
          Runtime: 'nodejs22.x',
          Handler: 'index.handler',
          Role: roleArn,
          Code: { S3Bucket: 'my-bucket', S3Key: 'code.zip' },
        }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidParameterValueException', message: expect.stringMatching(/NoSuchBucket/) });
    await deployFunction(sb, 'dupe', 'exports.handler = async () => 1;');
    await expect(
      lambda.send(new CreateFunctionCommand({ FunctionName: 'dupe', Runtime: 'nodejs22.x', Handler: 'index.handler', Role: roleArn, Code: code })),
    ).rejects.toMatchObject({ name: 'ResourceConflictException', $metadata: { httpStatusCode: 409 } });
    await expect(lambda.send(new InvokeCommand({ FunctionName: 'dupe', Payload: Buffer.from('{nope') }))).rejects.toMatchObject({
      name: 'InvalidRequestContentException',
    });
  });

  it('authorizes Invoke: a caller without lambda:InvokeFunction is refused with AccessDeniedException', async () => {
    const caller = (await clients(sb).iam.send(new CreateRoleCommand({ RoleName: 'no-invoke', AssumeRolePolicyDocument: lambdaTrust }))).Role!.Arn!;
    const { lambda } = clients(sb, roleCredentials(sb, caller));
    const err = await lambda.send(new InvokeCommand({ FunctionName: 'dupe' })).catch((e) => e);
    expect(err.name).toBe('AccessDeniedException');
    expect(err.message).toBe(
      `User: arn:aws:sts::${A}:assumed-role/no-invoke/test-session is not authorized to perform: lambda:InvokeFunction on resource: arn:aws:lambda:us-east-1:${A}:function:dupe because no identity-based policy allows the lambda:InvokeFunction action`,
    );
  });
});
