/**
 * The shared operator model (setting sharedOperatorRoleArn): one existing role operates every application,
 * holding one constant managed policy that the deployment attaches. No step writes to that role, so its
 * size does not grow with the fleet (the 11th, 17th, 101st application cost it nothing), concurrent runs
 * cannot lose each other's grants, and no rollback can take away another application's rights. Which key
 * serves which application is each key policy's to say; the policy engine proves the operator can use a
 * key only through Managed Flink, for the application its policy names.
 */
import {
  AttachRolePolicyCommand,
  CreatePolicyVersionCommand,
  DeletePolicyVersionCommand,
  DetachRolePolicyCommand,
  GetRoleCommand,
  SetDefaultPolicyVersionCommand,
  UpdateAssumeRolePolicyCommand,
} from '@aws-sdk/client-iam';
import { evaluate } from '../../local/sandbox/authz';
import { issueSession } from '../../local/sandbox/services/sts';
import { sharedOperatorKeyPolicy } from '../../lambdas/lib/policies';
import { MANAGED_BY_KEY, MANAGED_BY_VALUE, SHARED_OPERATOR_POLICY_NAME } from '../../lambdas/lib/names';
import { ACCOUNT, REGION, accountChanges, appArn, newAppInput, sharedOperatorArn, world, type World } from './harness';

const PIPELINE = 'flink-pipeline';
const SHARED = sharedOperatorArn(PIPELINE);
const POLICY_ARN = `arn:aws:iam::${ACCOUNT}:policy/${SHARED_OPERATOR_POLICY_NAME}`;
const name = (i: number) => `app-${String(i + 1).padStart(3, '0')}`;
const via = `kinesisanalytics.${REGION}.amazonaws.com`;

/** The suite for a fleet of `count` applications: 12 in npm test, 101 (the 11th, 17th and 101st) in npm run test:exhaustive. */
export function sharedOperatorSuite(count: number): void {
  const COUNT = count;
  const names = Array.from({ length: COUNT }, (_, i) => name(i));
  describe(`one shared operator role for a whole account of ${COUNT} applications (setting sharedOperatorRoleArn)`, () => {
    let w: World;
    beforeAll(async () => {
      w = await world({ sharedOperator: PIPELINE });
    });
    afterAll(() => w.close());

    const keyOf = (app: string) => w.sb.sandbox.state.kinesisanalytics.applications[app].Encryption.KeyId!;
    const policyOf = (keyArn: string) => JSON.parse(Object.values(w.sb.sandbox.state.kms.keys).find((k) => k.Arn === keyArn)!.Policy);

    it(`onboards ${COUNT} applications (new, READY and RUNNING) through the fleet, never writing to the shared role: the 11th, 17th and 101st as the 1st`, async () => {
      for (const [i, name] of names.entries()) {
        if (i % 3 === 0) await w.ensureExecRole(name);
        else await w.existingApp(name, { running: i % 3 === 2 });
      }
      const before = w.sb.sandbox.snapshot();
      const result = await w.operation('onboard-fleet').run({ applicationNames: names.filter((_, i) => i % 3 !== 0), maxConcurrency: 25 });
      expect(result.status).toBe('SUCCEEDED');
      for (const name of names.filter((_, i) => i % 3 === 0)) {
        const created = await w.machine().run(newAppInput(name));
        expect({ name, status: created.status }).toEqual({ name, status: 'SUCCEEDED' });
      }
      const changes = accountChanges(w, before);
      expect(changes.filter((c) => c.path.startsWith('iam.'))).toEqual([]);
      expect(w.sb.sandbox.faults.log.filter((e) => /LimitExceeded|Throttl/.test(e.outcome))).toEqual([]);
      const role = w.sb.sandbox.state.iam.roles[PIPELINE];
      expect({ attached: role.AttachedPolicyArns, inline: Object.keys(role.InlinePolicies) }).toEqual({
        attached: [POLICY_ARN],
        inline: ['deploy-flink-applications'],
      });
      for (const n of [1, 11, 17, 101].filter((n) => n <= COUNT)) {
        const app = names[n - 1];
        // Each key's policy names the shared operator for exactly its own application.
        const operator = policyOf(keyOf(app)).Statement.filter((s: any) => s.Principal?.AWS === SHARED);
        expect({
          app,
          operatorStatements: operator.length,
          contexts: [...new Set(operator.flatMap((s: any) => Object.values(s.Condition?.StringEquals ?? {})))],
        }).toEqual({
          app,
          operatorStatements: 3,
          contexts: expect.arrayContaining([appArn(app)]),
        });
        expect(JSON.stringify(operator)).not.toMatch(
          new RegExp(
            names
              .filter((x) => x !== app)
              .map((x) => `${x}"`)
              .join('|'),
          ),
        );
      }
    }, 120_000);

    it('lets the shared operator use a key only through Managed Flink, only for the application its policy names (the policy engine)', async () => {
      const [a, b] = [names[1], names[2]];
      const [keyA, keyB] = [keyOf(a), keyOf(b)];
      const s = issueSession(w.sb.sandbox, SHARED, 'prove');
      const caller = w.sb.sandbox.resolveAccessKey(s.AccessKeyId, s.SessionToken).principal;
      const decide = (key: string, context: Record<string, string>) =>
        w.sb.sandbox.evaluate(caller, 'kms:Decrypt', key, {
          resourcePolicy: policyOf(key),
          context: { ...context, 'kms:CallerAccount': ACCOUNT },
        }).decision;
      const ec = 'kms:EncryptionContext:aws:kinesisanalytics:arn';
      expect({
        ownKeyOwnApplication: decide(keyA, { 'kms:ViaService': via, [ec]: appArn(a) }),
        ownKeyOtherApplication: decide(keyA, { 'kms:ViaService': via, [ec]: appArn(b) }),
        otherKeyForThisApplication: decide(keyB, { 'kms:ViaService': via, [ec]: appArn(a) }),
        directlyNotThroughManagedFlink: decide(keyA, { [ec]: appArn(a) }),
      }).toEqual({
        ownKeyOwnApplication: 'Allowed',
        ownKeyOtherApplication: 'ImplicitlyDenied',
        otherKeyForThisApplication: 'ImplicitlyDenied',
        directlyNotThroughManagedFlink: 'ImplicitlyDenied',
      });
    });

    it("bounds the shared operator by its own policy too, even on a key that delegates to IAM: only the workflow's keys, through Managed Flink, for an application of this account", () => {
      const key = `arn:aws:kms:${REGION}:${ACCOUNT}:key/11111111-2222-3333-4444-555555555555`;
      const delegating = {
        Version: '2012-10-17',
        Statement: [
          { Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' },
        ],
      };
      const decide = (action: string, context: Record<string, string>) =>
        evaluate({
          principal: `arn:aws:sts::${ACCOUNT}:assumed-role/${PIPELINE}/s`,
          action,
          resource: key,
          resourceAccount: ACCOUNT,
          context: { 'aws:PrincipalArn': SHARED, ...context },
          identityPolicies: [
            { name: SHARED_OPERATOR_POLICY_NAME, document: sharedOperatorKeyPolicy({ scope: { account: ACCOUNT, region: REGION } }) as never },
          ],
          resourcePolicy: delegating as never,
        }).decision;
      const ec = 'kms:EncryptionContext:aws:kinesisanalytics:arn';
      // The workflow's own keys carry its managed-by tag; another team's key, delegating or not, does not.
      const ours = { [`aws:ResourceTag/${MANAGED_BY_KEY}`]: MANAGED_BY_VALUE };
      expect({
        viaMsfForAnApplication: decide('kms:Decrypt', { 'kms:ViaService': via, [ec]: appArn('any'), ...ours }),
        notTheWorkflowsKey: decide('kms:Decrypt', { 'kms:ViaService': via, [ec]: appArn('any') }),
        directly: decide('kms:Decrypt', { [ec]: appArn('any'), ...ours }),
        withoutApplicationContext: decide('kms:GenerateDataKey', { 'kms:ViaService': via, ...ours }),
        anotherAccountsApplication: decide('kms:Decrypt', { 'kms:ViaService': via, [ec]: appArn('any').replace(ACCOUNT, '444455556666'), ...ours }),
        encrypt: decide('kms:Encrypt', { 'kms:ViaService': via, [ec]: appArn('any'), ...ours }),
        manage: decide('kms:PutKeyPolicy', { 'kms:ViaService': via, ...ours }),
      }).toEqual({
        viaMsfForAnApplication: 'Allowed',
        notTheWorkflowsKey: 'ImplicitlyDenied',
        directly: 'ImplicitlyDenied',
        withoutApplicationContext: 'ImplicitlyDenied',
        anotherAccountsApplication: 'ImplicitlyDenied',
        encrypt: 'ImplicitlyDenied',
        manage: 'ImplicitlyDenied',
      });
    });

    it("acts as the shared operator only through sessions cut down to one application's operator (a session policy)", () => {
      const [app, other] = [names[1], names[2]];
      const session = Object.values(w.sb.sandbox.state.sts.sessions).find(
        (x) => x.RoleArn === SHARED && JSON.stringify(x.Policy ?? {}).includes(`application/${app}"`),
      );
      expect(session).toBeDefined();
      const operator = w.sb.sandbox.resolveAccessKey(session!.AccessKeyId, session!.SessionToken).principal;
      const s = issueSession(w.sb.sandbox, SHARED, 'pipeline-build');
      const pipeline = w.sb.sandbox.resolveAccessKey(s.AccessKeyId, s.SessionToken).principal;
      const decide = (who: typeof operator, action: string, resource: string) => w.sb.sandbox.evaluate(who, action, resource).decision;
      expect({
        ownApplication: decide(operator, 'kinesisanalytics:UpdateApplication', appArn(app)),
        anotherApplication: decide(operator, 'kinesisanalytics:UpdateApplication', appArn(other)),
        deleteAnother: decide(operator, 'kinesisanalytics:DeleteApplication', appArn(other)),
        pipelineItself: decide(pipeline, 'kinesisanalytics:UpdateApplication', appArn(other)),
      }).toEqual({ ownApplication: 'Allowed', anotherApplication: 'ImplicitlyDenied', deleteAnother: 'ImplicitlyDenied', pipelineItself: 'Allowed' });
      expect(JSON.stringify(session!.Policy).length).toBeLessThanOrEqual(2048);
    });

    it('leaves the orchestrator no right to make, change or assume a role under rolePath, which no run then needs', () => {
      const s = issueSession(w.sb.sandbox, w.orchestratorArn, 'prove');
      const orchestrator = w.sb.sandbox.resolveAccessKey(s.AccessKeyId, s.SessionToken).principal;
      const underPath = `arn:aws:iam::${ACCOUNT}:role/msf-cmk/msf-cmk-operator-anything`;
      const decisions = Object.fromEntries(
        ['iam:CreateRole', 'iam:PutRolePolicy', 'iam:DeleteRole', 'iam:UpdateAssumeRolePolicy', 'sts:AssumeRole', 'iam:GetRole'].map((action) => [
          action,
          w.sb.sandbox.evaluate(orchestrator, action, underPath, { context: { 'iam:PermissionsBoundary': w.deployment.permissionsBoundaryArn } }).decision,
        ]),
      );
      expect(decisions).toEqual({
        'iam:CreateRole': 'ImplicitlyDenied',
        'iam:PutRolePolicy': 'ImplicitlyDenied',
        'iam:DeleteRole': 'ImplicitlyDenied',
        'iam:UpdateAssumeRolePolicy': 'ImplicitlyDenied',
        'sts:AssumeRole': 'ImplicitlyDenied',
        'iam:GetRole': 'Allowed',
      });
    });

    it('lets the orchestrator assume the shared role and read it, never write to it', () => {
      const s = issueSession(w.sb.sandbox, w.orchestratorArn, 'prove');
      const orchestrator = w.sb.sandbox.resolveAccessKey(s.AccessKeyId, s.SessionToken).principal;
      const decisions = Object.fromEntries(
        ['sts:AssumeRole', 'iam:GetRole', 'iam:PutRolePolicy', 'iam:AttachRolePolicy', 'iam:UpdateAssumeRolePolicy', 'iam:DeleteRolePolicy', 'iam:TagRole'].map(
          (action) => [action, w.sb.sandbox.evaluate(orchestrator, action, SHARED).decision],
        ),
      );
      expect(decisions).toEqual({
        'sts:AssumeRole': 'Allowed',
        'iam:GetRole': 'Allowed',
        'iam:PutRolePolicy': 'ImplicitlyDenied',
        'iam:AttachRolePolicy': 'ImplicitlyDenied',
        'iam:UpdateAssumeRolePolicy': 'ImplicitlyDenied',
        'iam:DeleteRolePolicy': 'ImplicitlyDenied',
        'iam:TagRole': 'ImplicitlyDenied',
      });
    });

    it('reverts and moves an application with the shared operator, writing nothing to that role', async () => {
      const [moved, reverted] = [names[4], names[5]];
      const before = w.sb.sandbox.snapshot();
      expect((await w.operation('move-key').run({ applicationName: moved })).status).toBe('SUCCEEDED');
      expect((await w.operation('revert-to-aws-owned-key').run({ applicationName: reverted })).status).toBe('SUCCEEDED');
      expect((await w.describe(reverted)).ApplicationConfigurationDescription!.ApplicationEncryptionConfigurationDescription!.KeyType).toBe('AWS_OWNED_KEY');
      expect(accountChanges(w, before).filter((c) => c.path.startsWith('iam.'))).toEqual([]);
    });

    it('the audit finds nothing to say of the operator while the policy is attached, and says it when it is not', async () => {
      const app = names[1];
      const audit = async () => ((await w.operation('audit').run({ applicationName: app })).output as any).findings.map((f: any) => f.GeneratorId as string);
      expect((await audit()).filter((id: string) => /operator-key-policy/.test(id))).toEqual([]);
      await w.root.iam.send(new DetachRolePolicyCommand({ RoleName: PIPELINE, PolicyArn: POLICY_ARN }));
      try {
        expect((await audit()).filter((id: string) => /operator-key-policy/.test(id)).length).toBe(1);
      } finally {
        await w.root.iam.send(new AttachRolePolicyCommand({ RoleName: PIPELINE, PolicyArn: POLICY_ARN }));
      }
    });

    it('the audit finds the stack policy widened in place (a new default version) and names the redeploy', async () => {
      const app = names[1];
      const widened = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'kms:*', Resource: '*' }] };
      const { PolicyVersion } = await w.root.iam.send(
        new CreatePolicyVersionCommand({ PolicyArn: POLICY_ARN, PolicyDocument: JSON.stringify(widened), SetAsDefault: true }),
      );
      try {
        const findings = ((await w.operation('audit').run({ applicationName: app })).output as any).findings.filter((f: any) =>
          /operator-key-policy/.test(f.GeneratorId),
        );
        expect(findings.map((f: any) => f.Remediation.Recommendation.Text)).toEqual([expect.stringContaining('Deploy the stack with sharedOperatorRoleArn')]);
      } finally {
        await w.root.iam.send(new SetDefaultPolicyVersionCommand({ PolicyArn: POLICY_ARN, VersionId: 'v1' }));
        await w.root.iam.send(new DeletePolicyVersionCommand({ PolicyArn: POLICY_ARN, VersionId: PolicyVersion!.VersionId }));
      }
    });

    it('adopts no key (its policy would not cover it), refusing the input before any call', async () => {
      await w.existingApp('adopter');
      const before = w.sb.sandbox.snapshot();
      w.sb.sandbox.faults.log.length = 0;
      const result = await w.machine().run({ applicationName: 'adopter', keyId: `arn:aws:kms:${REGION}:${ACCOUNT}:key/11111111-2222-3333-4444-555555555555` });
      expect({ status: result.status, error: result.error }).toEqual({ status: 'FAILED', error: 'InvalidInput' });
      expect(result.cause).toContain('keyId: a deployment with a shared operator role (sharedOperatorRoleArn) adopts no key');
      expect(w.sb.sandbox.faults.log).toEqual([]);
      expect(accountChanges(w, before)).toEqual([]);
    });

    it('refuses, changing nothing, while the shared role lacks the policy the deployment attaches', async () => {
      await w.root.iam.send(new DetachRolePolicyCommand({ RoleName: PIPELINE, PolicyArn: POLICY_ARN }));
      await w.ensureExecRole('unattached');
      const before = w.sb.sandbox.snapshot();
      try {
        const result = await w.machine().run(newAppInput('unattached'));
        expect({ status: result.status, error: result.error }).toEqual({ status: 'FAILED', error: 'PreconditionFailed' });
        expect(result.cause).toContain(`lacks the managed policy ${SHARED_OPERATOR_POLICY_NAME}`);
        expect(accountChanges(w, before)).toEqual([]);
      } finally {
        await w.root.iam.send(new AttachRolePolicyCommand({ RoleName: PIPELINE, PolicyArn: POLICY_ARN }));
      }
    });

    it('refuses, changing nothing, while the shared role does not trust the orchestrator, and says what to add', async () => {
      const trust = (await w.root.iam.send(new GetRoleCommand({ RoleName: PIPELINE }))).Role!.AssumeRolePolicyDocument!;
      await w.root.iam.send(
        new UpdateAssumeRolePolicyCommand({
          RoleName: PIPELINE,
          PolicyDocument: JSON.stringify({
            Version: '2012-10-17',
            Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'sts:AssumeRole' }],
          }),
        }),
      );
      await w.ensureExecRole('refused');
      const before = w.sb.sandbox.snapshot();
      try {
        const result = await w.machine().run(newAppInput('refused'));
        expect({ status: result.status, error: result.error }).toEqual({ status: 'FAILED', error: 'PreconditionFailed' });
        expect(result.cause).toContain(`does not trust the orchestrator ${w.orchestratorArn}; add this statement to its trust policy`);
        expect(accountChanges(w, before)).toEqual([]);
      } finally {
        await w.root.iam.send(new UpdateAssumeRolePolicyCommand({ RoleName: PIPELINE, PolicyDocument: decodeURIComponent(trust) }));
      }
    });
  });
}
