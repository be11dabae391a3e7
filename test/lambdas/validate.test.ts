import { validateInput } from '../../lambdas/lib/validate';

const EXEC_ROLE = 'arn:aws:iam::000000000000:role/orders-flink-execution';

describe('input contract (statemachine/input.schema.json)', () => {
  it.each([
    ['a missing applicationName', {}, 'applicationName: is required'],
    ['an applicationName with a space', { applicationName: 'my app' }, 'applicationName: must match pattern'],
    ['an applicationName over 128 characters', { applicationName: 'a'.repeat(129) }, 'applicationName: must NOT have more than 128 characters'],
    ['an applicationName that is a number', { applicationName: 42 }, 'applicationName: must be string'],
    ['an unknown field', { applicationName: 'orders', keyID: 'x' }, 'keyID: is not a known field'],
    ['a createApplication without its execution role', { applicationName: 'orders', createApplication: {} }, 'createApplication.serviceExecutionRoleArn: is required'],
    ['a runtime that cannot use a CMK', { applicationName: 'o', createApplication: { serviceExecutionRoleArn: EXEC_ROLE, runtimeEnvironment: 'FLINK-1_18' } }, 'createApplication.runtimeEnvironment: must be equal to one of the allowed values'],
    ['an execution role that is not a role ARN', { applicationName: 'o', createApplication: { serviceExecutionRoleArn: 'arn:aws:iam::000000000000:user/bob' } }, 'createApplication.serviceExecutionRoleArn: must match pattern'],
    ['a keyId that is neither key nor alias', { applicationName: 'o', keyId: 'arn:aws:s3:::bucket' }, 'keyId: must match pattern'],
    ['a rolePath without the trailing slash', { applicationName: 'o', rolePath: '/msf-cmk' }, 'rolePath: must match pattern'],
    ['delegateToAccount as a string', { applicationName: 'o', delegateToAccount: 'yes' }, 'delegateToAccount: must be boolean'],
    ['a tag value over 256 characters', { applicationName: 'o', tags: { team: 'x'.repeat(257) } }, 'tags.team: must NOT have more than 256 characters'],
    ['an input that is an array', [], '(input): must be a JSON object'],
  ])('refuses %s and names the field', (_what, input, message) => {
    expect(() => validateInput(input)).toThrow(expect.objectContaining({ name: 'InvalidInput', message: expect.stringContaining(message) }));
  });

  it('fills the defaults so {"applicationName": "orders"} works from the console', () => {
    expect(validateInput({ applicationName: 'orders' })).toEqual({
      applicationName: 'orders',
      mode: 'apply',
      aliasPrefix: 'msf-cmk/',
      operatorRoleName: 'MsfCmkOperator',
      keyAdminRoleName: 'MsfCmkKeyAdmin',
      rolePath: '/msf-cmk/',
      delegateToAccount: false,
      pendingWindowDays: 30,
      lockTableName: 'msf-cmk-onboarding-locks',
      tags: {},
    });
  });

  it('does not modify the caller\'s input object', () => {
    const input = { applicationName: 'orders' };
    validateInput(input);
    expect(input).toEqual({ applicationName: 'orders' });
  });
});
