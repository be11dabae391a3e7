import { validateInput } from '../../lambdas/lib/validate';
import { deployment, deploymentEnvironment, validateSettings } from '../../lambdas/lib/settings';

const EXEC_ROLE = 'arn:aws:iam::000000000000:role/orders-flink-execution';

describe('input contract (statemachine/input.schema.json)', () => {
  it.each([
    ['a missing applicationName', {}, 'applicationName: is required'],
    ['an applicationName with a space', { applicationName: 'my app' }, 'applicationName: must match pattern'],
    ['an applicationName over 128 characters', { applicationName: 'a'.repeat(129) }, 'applicationName: must NOT have more than 128 characters'],
    ['an applicationName that is a number', { applicationName: 42 }, 'applicationName: must be string'],
    ['an unknown field', { applicationName: 'orders', keyID: 'x' }, 'keyID: is not a known field'],
    ['a deployment setting (rolePath belongs to the deployment)', { applicationName: 'orders', rolePath: '/x/' }, 'rolePath: is not a known field'],
    [
      'a deployment setting (lockTableName belongs to the deployment)',
      { applicationName: 'orders', lockTableName: 'other' },
      'lockTableName: is not a known field',
    ],
    [
      'a createApplication without its execution role',
      { applicationName: 'orders', createApplication: {} },
      'createApplication.serviceExecutionRoleArn: is required',
    ],
    [
      'a runtime that cannot use a CMK',
      { applicationName: 'o', createApplication: { serviceExecutionRoleArn: EXEC_ROLE, runtimeEnvironment: 'FLINK-1_18' } },
      'createApplication.runtimeEnvironment: must be equal to one of the allowed values',
    ],
    [
      'an execution role that is not a role ARN',
      { applicationName: 'o', createApplication: { serviceExecutionRoleArn: 'arn:aws:iam::000000000000:user/bob' } },
      'createApplication.serviceExecutionRoleArn: must match pattern',
    ],
    ['a keyId that is neither key nor alias', { applicationName: 'o', keyId: 'arn:aws:s3:::bucket' }, 'keyId: must match pattern'],
    ['a tag value over 256 characters', { applicationName: 'o', tags: { team: 'x'.repeat(257) } }, 'tags.team: must NOT have more than 256 characters'],
    ['a tag value with a character IAM refuses', { applicationName: 'o', tags: { team: 'a&b' } }, 'tags.team: must match pattern'],
    ['a tag key with a character IAM refuses', { applicationName: 'o', tags: { 'te!am': 'x' } }, 'tags.te!am: is not a valid tag key'],
    ['a reserved aws: tag key', { applicationName: 'o', tags: { 'aws:team': 'x' } }, 'tags.aws:team: is reserved'],
    ['a reserved AWS: tag key in other case', { applicationName: 'o', tags: { 'AWS:team': 'x' } }, 'tags.AWS:team: is reserved'],
    ["the workflow's own managed-by tag", { applicationName: 'o', tags: { 'Managed-By': 'me' } }, 'tags.Managed-By: is reserved'],
    ["a tag under the workflow's msf-cmk: prefix", { applicationName: 'o', tags: { 'msf-cmk:owner': 'me' } }, 'tags.msf-cmk:owner: is reserved'],
    ['tag keys that differ only in case', { applicationName: 'o', tags: { Team: 'a', team: 'b' } }, 'tags.team: differs from tags.Team only in case'],
    ['an input that is an array', [], '(input): must be a JSON object'],
  ])('refuses %s and names the field', (_what, input, message) => {
    expect(() => validateInput(input)).toThrow(expect.objectContaining({ name: 'InvalidInput', message: expect.stringContaining(message) }));
  });

  it('fills the defaults so {"applicationName": "orders"} works from the console', () => {
    expect(validateInput({ applicationName: 'orders' })).toEqual({ operation: 'onboard-application', applicationName: 'orders', mode: 'apply', tags: {} });
  });

  it('refuses the fields an operation does not take, naming the operation, and an operation that does not exist', () => {
    expect(() =>
      validateInput(
        { applicationName: 'orders', keyId: 'alias/x', createApplication: { serviceExecutionRoleArn: 'arn:aws:iam::000000000000:role/x' } },
        'revert-to-aws-owned-key',
      ),
    ).toThrow('createApplication: is not a field of revert-to-aws-owned-key; keyId: is not a field of revert-to-aws-owned-key');
    expect(() => validateInput({ applicationName: 'orders' }, 'delete-everything' as never)).toThrow('(operation): "delete-everything" is not one of');
    expect(validateInput({ applicationName: 'orders', mode: 'plan' }, 'revert-to-aws-owned-key')).toEqual({
      operation: 'revert-to-aws-owned-key',
      applicationName: 'orders',
      mode: 'plan',
      tags: {},
    });
  });

  it('accepts unicode letters, spaces and the tag punctuation IAM, KMS and Managed Flink all allow', () => {
    expect(validateInput({ applicationName: 'o', tags: { 'Kostenstelle Süd': 'Zürich 8000 _.:/=+-@' } }).tags).toEqual({
      'Kostenstelle Süd': 'Zürich 8000 _.:/=+-@',
    });
  });

  it("does not modify the caller's input object", () => {
    const input = { applicationName: 'orders' };
    validateInput(input);
    expect(input).toEqual({ applicationName: 'orders' });
  });
});

describe('deployment settings (lambdas/lib/settings.schema.json)', () => {
  it.each([
    ['rolePath "/" (the orchestrator would manage every role)', { rolePath: '/' }, 'rolePath: must match pattern'],
    ['a rolePath without the trailing slash', { rolePath: '/msf-cmk' }, 'rolePath: must match pattern'],
    ['an alias prefix under the reserved alias/aws/', { aliasPrefix: 'aws/' }, 'aliasPrefix: alias/aws/ is reserved'],
    ['an alias prefix under AWS/ in other case', { aliasPrefix: 'AWS/x/' }, 'aliasPrefix: alias/aws/ is reserved'],
    [
      'a key administrator that an operator role could be',
      { keyAdminRoleName: 'msf-cmk-operator-admin' },
      'keyAdminRoleName: msf-cmk-operator-admin starts with operatorRolePrefix',
    ],
    ['a key administrator an operator could be, in other case', { keyAdminRoleName: 'MSF-CMK-OPERATOR-x' }, 'starts with operatorRolePrefix'],
    ['a pending window KMS refuses', { pendingWindowDays: 6 }, 'pendingWindowDays: must be >= 7'],
    ['an unknown setting', { operatorRoleName: 'Op' }, 'operatorRoleName: must NOT have additional properties'],
    ['the default bus as the request bus', { requestBusName: 'default' }, 'requestBusName: must match pattern'],
    ['a request principal that is a name, not an ARN', { requestPrincipals: ['alice'] }, 'requestPrincipals/0: must match pattern'],
    [
      'a request principal of another service',
      { requestPrincipals: ['arn:aws:sts::111122223333:assumed-role/a/b'] },
      'requestPrincipals/0: must match pattern',
    ],
  ])('refuses %s', (_what, input, message) => {
    expect(() => validateSettings(input)).toThrow(expect.objectContaining({ name: 'InvalidDeployment', message: expect.stringContaining(message) }));
  });

  it('defaults every setting', () => {
    expect(validateSettings({})).toEqual({
      rolePath: '/msf-cmk/',
      operatorRolePrefix: 'msf-cmk-operator-',
      keyAdminRoleName: 'MsfCmkKeyAdmin',
      aliasPrefix: 'msf-cmk/',
      lockTableName: 'msf-cmk-onboarding-locks',
      pendingWindowDays: 30,
      delegateToAccount: false,
      keyDeletionGuard: false,
      autoOnboarding: false,
      dailyAudit: false,
      hourlySweep: false,
      securityHubFindings: false,
      requestBusName: 'msf-cmk-onboarding-requests',
      defaultBusRequests: false,
    });
  });

  it('carries a list setting through the function environment as JSON, so a role name with a comma survives', () => {
    // Prepare
    const principals = ['arn:aws:iam::111122223333:role/a,b', '444455556666'];
    const resources = {
      orchestratorRoleArn: 'arn:aws:iam::000000000000:role/O',
      keyAdminRoleArn: 'arn:aws:iam::000000000000:role/K',
      permissionsBoundaryArn: 'arn:aws:iam::000000000000:policy/B',
    };
    // Act
    const env = deploymentEnvironment({ ...validateSettings({ requestPrincipals: principals }), ...resources });
    // Assess
    expect(env.MSF_CMK_REQUEST_PRINCIPALS).toBe(JSON.stringify(principals));
    expect(deployment(env).requestPrincipals).toEqual(principals);
    expect(deploymentEnvironment({ ...validateSettings({}), ...resources })).not.toHaveProperty('MSF_CMK_REQUEST_PRINCIPALS');
  });
});
