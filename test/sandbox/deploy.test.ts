/**
 * The sandbox's template deployer on a hand-written cloud assembly: intrinsic functions, conditions,
 * parameters, assets, the dependency order, refusal of unknown types before any write, and updates in
 * place (changed, removed and retained resources).
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { InvokeCommand } from '@aws-sdk/client-lambda';
import { deployTemplate, generatedName, readAssembly } from '../../local/sandbox/deploy';
import { clients, testSandbox } from './helpers';
import type { RunningSandbox } from '../../local/sandbox/server';

const A = '000000000000';
const trust = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }] };

/** A cloud assembly as cdk synth writes one: manifest, template, asset manifest and one code folder. */
function assembly(template: object): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'assembly-'));
  mkdirSync(path.join(dir, 'asset.abc123'));
  writeFileSync(path.join(dir, 'asset.abc123', 'index.js'), 'exports.handler = async (e) => ({ greeting: `hello ${e.name}`, table: process.env.TABLE });');
  writeFileSync(path.join(dir, 'Demo.template.json'), JSON.stringify(template));
  writeFileSync(
    path.join(dir, 'Demo.assets.json'),
    JSON.stringify({
      version: '55.0.0',
      files: { abc123: { source: { path: 'asset.abc123', packaging: 'zip' }, destinations: { d: { bucketName: 'cdk-assets', objectKey: 'abc123.zip' } } } },
    }),
  );
  writeFileSync(
    path.join(dir, 'manifest.json'),
    JSON.stringify({
      version: '55.0.0',
      artifacts: {
        'Demo.assets': { type: 'cdk:asset-manifest', properties: { file: 'Demo.assets.json' } },
        Demo: { type: 'aws:cloudformation:stack', properties: { templateFile: 'Demo.template.json' }, dependencies: ['Demo.assets'] },
      },
    }),
  );
  return dir;
}

function template(overrides: { policy?: string[]; withQueue?: boolean } = {}) {
  return {
    Parameters: { Stage: { Type: 'String', Default: 'dev' } },
    Conditions: { IsProd: { 'Fn::Equals': [{ Ref: 'Stage' }, 'prod'] } },
    Resources: {
      Table: {
        Type: 'AWS::DynamoDB::Table',
        Properties: {
          TableName: { 'Fn::Sub': '${AWS::StackName}-${Stage}-items' },
          KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
          AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
          BillingMode: 'PAY_PER_REQUEST',
        },
      },
      FnRole: {
        Type: 'AWS::IAM::Role',
        Properties: { AssumeRolePolicyDocument: trust, Description: { 'Fn::If': ['IsProd', 'prod', { Ref: 'AWS::NoValue' }] } },
      },
      FnPolicy: {
        Type: 'AWS::IAM::Policy',
        Properties: {
          PolicyName: 'table',
          Roles: [{ Ref: 'FnRole' }],
          PolicyDocument: {
            Version: '2012-10-17',
            Statement: [{ Effect: 'Allow', Action: overrides.policy ?? ['dynamodb:GetItem'], Resource: { 'Fn::GetAtt': ['Table', 'Arn'] } }],
          },
        },
      },
      Fn: {
        Type: 'AWS::Lambda::Function',
        DependsOn: ['FnPolicy'],
        Properties: {
          Runtime: 'nodejs22.x',
          Handler: 'index.handler',
          Role: { 'Fn::GetAtt': ['FnRole', 'Arn'] },
          Code: { S3Bucket: { 'Fn::Sub': 'cdk-assets-${AWS::AccountId}' }, S3Key: 'abc123.zip' },
          Environment: { Variables: { TABLE: { Ref: 'Table' } } },
        },
      },
      ProdOnly: { Type: 'AWS::Logs::LogGroup', Condition: 'IsProd', Properties: {} },
      Kept: {
        Type: 'AWS::Logs::LogGroup',
        DeletionPolicy: 'Retain',
        Properties: { LogGroupName: { 'Fn::Join': ['/', ['', 'kept', { 'Fn::Select': [1, { 'Fn::Split': ['-', 'a-b-c'] }] }]] } },
      },
      ...(overrides.withQueue !== false && { Queue: { Type: 'AWS::SQS::Queue', Properties: { MessageRetentionPeriod: 1209600 } } }),
    },
    Outputs: {
      FunctionArn: { Value: { 'Fn::GetAtt': ['Fn', 'Arn'] } },
      TableName: { Value: { Ref: 'Table' } },
      Where: { Value: { 'Fn::Sub': ['${AWS::Region}/${Thing}', { Thing: 'x' }] } },
      ...(overrides.withQueue !== false && { QueueArn: { Value: { 'Fn::GetAtt': ['Queue', 'Arn'] } } }),
    },
  };
}

describe('the template deployer', () => {
  let sb: RunningSandbox;
  beforeAll(async () => {
    sb = await testSandbox();
  });
  afterAll(() => sb.close());

  it('refuses a template with a resource type it does not deploy, naming it, before writing anything', async () => {
    const before = sb.sandbox.snapshot();
    const t = template();
    (t.Resources as any).Bucket = { Type: 'AWS::S3::Bucket', Properties: {} };
    await expect(deployTemplate(sb.sandbox, 'Demo', { ...readAssembly(assembly(template()), 'Demo'), template: t })).rejects.toThrow(
      /^The template has resource types this sandbox does not deploy: Bucket \(AWS::S3::Bucket\)\. Served: AWS::IAM::Role/,
    );
    expect(sb.sandbox.diff(before)).toEqual([]);
  });

  it('deploys in dependency order with intrinsics, conditions and assets resolved, and prints the outputs', async () => {
    const result = await deployTemplate(sb.sandbox, 'Demo', readAssembly(assembly(template()), 'Demo'));
    const fnName = generatedName('Demo', 'Fn');
    expect(result.outputs).toEqual({
      FunctionArn: `arn:aws:lambda:us-east-1:${A}:function:${fnName}`,
      TableName: 'Demo-dev-items',
      Where: 'us-east-1/x',
      QueueArn: `arn:aws:sqs:us-east-1:${A}:${generatedName('Demo', 'Queue', 80)}`,
    });
    expect(result.created).toEqual(['Table', 'FnRole', 'FnPolicy', 'Fn', 'Kept', 'Queue']);
    const role = sb.sandbox.state.iam.roles[generatedName('Demo', 'FnRole')];
    expect(role.Description).toBeUndefined();
    expect(role.InlinePolicies.table).toMatchObject({ Statement: [{ Resource: `arn:aws:dynamodb:us-east-1:${A}:table/Demo-dev-items` }] });
    expect(sb.sandbox.state.logs!.groups['/kept/b']).toBeDefined();
    // The function runs from the asset folder, with its resolved environment.
    const out = await clients(sb).lambda.send(new InvokeCommand({ FunctionName: fnName, Payload: Buffer.from('{"name":"you"}') }));
    expect(JSON.parse(Buffer.from(out.Payload!).toString())).toEqual({ greeting: 'hello you', table: 'Demo-dev-items' });
  });

  it('updates in place: a changed policy is rewritten, a removed resource deleted (unless retained), names and ARNs kept', async () => {
    const first = sb.sandbox.state.cloudformation!.stacks.Demo;
    const t = template({ policy: ['dynamodb:GetItem', 'dynamodb:PutItem'], withQueue: false });
    delete (t.Resources as any).Kept;
    const result = await deployTemplate(sb.sandbox, 'Demo', readAssembly(assembly(t), 'Demo'));
    expect(result.updated).toEqual(['FnPolicy']);
    expect(result.deleted.sort()).toEqual(['Kept', 'Queue']);
    expect(sb.sandbox.state.iam.roles[generatedName('Demo', 'FnRole')].InlinePolicies.table).toMatchObject({
      Statement: [{ Action: ['dynamodb:GetItem', 'dynamodb:PutItem'] }],
    });
    expect(sb.sandbox.state.sqs!.queues).toEqual({});
    expect(sb.sandbox.state.logs!.groups['/kept/b']).toBeDefined();
    expect(result.outputs.FunctionArn).toBe(first.Outputs.FunctionArn);
  });

  it('names what failed and keeps what was deployed before it', async () => {
    const t = template();
    (t.Resources.Fn.Properties as any).Runtime = 'python3.12';
    (t.Resources.Fn.Properties as any).Description = 'changed';
    await expect(deployTemplate(sb.sandbox, 'Demo', readAssembly(assembly(t), 'Demo'))).rejects.toThrow(
      /^Demo: Fn \(AWS::Lambda::Function\) failed: InvalidParameterValueException: The runtime parameter of python3.12 is not run by this sandbox/,
    );
    expect(sb.sandbox.state.lambda!.functions[generatedName('Demo', 'Fn')].Runtime).toBe('nodejs22.x');
  });
});
