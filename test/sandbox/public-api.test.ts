/**
 * local/index.ts as a user's own test uses it: the README's example, on a cloud assembly of their own.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { DescribeExecutionCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { STSClient, GetCallerIdentityCommand } from '@aws-sdk/client-sts';
import { startAccount } from '../../local';

/** A one-function, one-state-machine stack, as a user's `cdk synth` would write it. */
function userAssembly(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'user-assembly-'));
  mkdirSync(path.join(dir, 'asset.code'));
  writeFileSync(path.join(dir, 'asset.code', 'index.js'), 'exports.handler = async (e) => ({ hello: e.who });');
  const lambdaTrust = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }] };
  const statesTrust = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'states.amazonaws.com' }, Action: 'sts:AssumeRole' }] };
  const template = {
    Resources: {
      FnRole: { Type: 'AWS::IAM::Role', Properties: { AssumeRolePolicyDocument: lambdaTrust } },
      Fn: {
        Type: 'AWS::Lambda::Function',
        Properties: {
          Runtime: 'nodejs22.x',
          Handler: 'index.handler',
          Role: { 'Fn::GetAtt': ['FnRole', 'Arn'] },
          Code: { S3Bucket: 'assets', S3Key: 'code.zip' },
        },
      },
      SmRole: {
        Type: 'AWS::IAM::Role',
        Properties: {
          AssumeRolePolicyDocument: statesTrust,
          Policies: [
            {
              PolicyName: 'invoke',
              PolicyDocument: {
                Version: '2012-10-17',
                Statement: [{ Effect: 'Allow', Action: 'lambda:InvokeFunction', Resource: { 'Fn::GetAtt': ['Fn', 'Arn'] } }],
              },
            },
          ],
        },
      },
      Sm: {
        Type: 'AWS::StepFunctions::StateMachine',
        Properties: {
          RoleArn: { 'Fn::GetAtt': ['SmRole', 'Arn'] },
          DefinitionString: { 'Fn::Sub': '{"StartAt":"Hi","States":{"Hi":{"Type":"Task","Resource":"${Fn.Arn}","End":true}}}' },
        },
      },
    },
    Outputs: { StateMachineArn: { Value: { Ref: 'Sm' } }, FnRoleArn: { Value: { 'Fn::GetAtt': ['FnRole', 'Arn'] } } },
  };
  writeFileSync(path.join(dir, 'User.template.json'), JSON.stringify(template));
  writeFileSync(
    path.join(dir, 'User.assets.json'),
    JSON.stringify({ files: { code: { source: { path: 'asset.code', packaging: 'zip' }, destinations: { d: { objectKey: 'code.zip' } } } } }),
  );
  writeFileSync(
    path.join(dir, 'manifest.json'),
    JSON.stringify({
      artifacts: {
        'User.assets': { type: 'cdk:asset-manifest', properties: { file: 'User.assets.json' } },
        User: { type: 'aws:cloudformation:stack', properties: { templateFile: 'User.template.json' }, dependencies: ['User.assets'] },
      },
    }),
  );
  return dir;
}

describe('the public module (local/index.ts)', () => {
  it('starts an account, deploys a stack, runs it, injects a fault, and diffs the account', async () => {
    const aws = await startAccount({ stepFunctions: { timeScale: 0 } });
    try {
      const stack = await aws.deploy(userAssembly(), 'User');
      const before = aws.snapshot();
      const { executionArn } = await aws.sfn().send(new StartExecutionCommand({ stateMachineArn: stack.outputs.StateMachineArn, input: '{"who":"you"}' }));
      let done = await aws.sfn().send(new DescribeExecutionCommand({ executionArn }));
      while (done.status === 'RUNNING') {
        await new Promise((r) => setTimeout(r, 20));
        done = await aws.sfn().send(new DescribeExecutionCommand({ executionArn }));
      }
      expect(JSON.parse(done.output!)).toEqual({ hello: 'you' });
      expect(aws.diff(before).map((c) => c.path)).toEqual([`stepfunctions.executions.${executionArn}`]);

      const asRole = new STSClient(aws.configFor(stack.outputs.FnRoleArn));
      expect((await asRole.send(new GetCallerIdentityCommand({}))).Arn).toMatch(/:assumed-role\/User-FnRole-\w+\/test-session$/);
      aws.faults.inject({ service: 'sts', operation: 'GetCallerIdentity', error: 'Throttling', status: 400, times: 1 });
      await expect(asRole.send(new GetCallerIdentityCommand({}))).rejects.toMatchObject({ name: 'Throttling' });
      expect(aws.faults.log.at(-1)).toMatchObject({ service: 'sts', operation: 'GetCallerIdentity', outcome: 'Throttling' });
    } finally {
      await aws.stop();
    }
  });
});
