/**
 * The guard: the rule the stack deploys (keyGuardPattern) receives, in one delivery, the CloudTrail event of
 * a call that hurts a managed key — here the key administrator disabling it — and the audit it starts then
 * reports the hurt application with the remediation. (The sandbox delivers to a recording state machine;
 * the audit runs on the local runner, as the rule's target would run it.)
 */
import { CreateRoleCommand, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { DescribeExecutionCommand, ListExecutionsCommand } from '@aws-sdk/client-sfn';
import { DisableKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { keyGuardPattern } from '../../infra/event-patterns';
import { issueSession } from '../../local/sandbox/services/sts';
import { clients, deployStateMachine } from '../sandbox/helpers';
import { KEY_ADMIN_ARN, world, type World } from './harness';

const PASS = { StartAt: 'Received', States: { Received: { Type: 'Pass', End: true } } };
const trust = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Principal: { Service: 'events.amazonaws.com' }, Action: 'sts:AssumeRole' }],
});

describe('guard', () => {
  let w: World;
  afterEach(() => w?.close());

  it('disabling a managed key reaches the guard rule in one delivery, and the audit it starts reports the application', async () => {
    // Prepare
    w = await world();
    await w.existingApp('orders');
    expect((await w.machine().run({ applicationName: 'orders' })).status).toBe('SUCCEEDED');
    const c = clients(w.sb);
    const recorder = await deployStateMachine(w.sb, 'GuardRecorder', PASS);
    const role = (await c.iam.send(new CreateRoleCommand({ RoleName: 'EventsGuard', AssumeRolePolicyDocument: trust }))).Role!.Arn!;
    await c.iam.send(
      new PutRolePolicyCommand({
        RoleName: 'EventsGuard',
        PolicyName: 'start',
        PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'states:StartExecution', Resource: recorder }] }),
      }),
    );
    await c.events.send(new PutRuleCommand({ Name: 'KeyGuardRule', EventPattern: JSON.stringify(keyGuardPattern()) }));
    await c.events.send(new PutTargetsCommand({ Rule: 'KeyGuardRule', Targets: [{ Id: 'audit', Arn: recorder, RoleArn: role, Input: '{}' }] }));
    const [key] = Object.values(w.sb.sandbox.state.kms.keys);
    const s = issueSession(w.sb.sandbox, KEY_ADMIN_ARN, 'oops');
    const admin = new KMSClient({
      ...w.sb.clientConfig(),
      credentials: { accessKeyId: s.AccessKeyId, secretAccessKey: s.SecretAccessKey, sessionToken: s.SessionToken },
    });

    // Act
    await admin.send(new DisableKeyCommand({ KeyId: key.KeyId }));

    // Assess: one delivery, with the rule's input; the audit finds the hurt application.
    const { executions = [] } = await c.sfn.send(new ListExecutionsCommand({ stateMachineArn: recorder }));
    expect(executions).toHaveLength(1);
    const delivered = await c.sfn.send(new DescribeExecutionCommand({ executionArn: executions[0].executionArn }));
    const audit = await w.operation('audit').run(JSON.parse(delivered.input!));
    expect(audit.status).toBe('SUCCEEDED');
    expect(audit.output.findings).toEqual([
      expect.objectContaining({
        GeneratorId: 'msf-cmk-orchestrator/audit/key-enabled',
        Severity: { Label: 'HIGH' },
        Resources: [expect.objectContaining({ Id: key.Arn, Type: 'AwsKmsKey' })],
        ProductFields: expect.objectContaining({ 'msf-cmk/application': 'orders' }),
      }),
    ]);
  });
});
