/** The CDK context settings: defaults from the input schema, and refusals before anything is synthesized. */
import { App } from 'aws-cdk-lib';
import { readSettings } from '../../infra/settings';

const read = (context: Record<string, unknown>) => readSettings(new App({ context }).node);

describe('CDK context settings', () => {
  it.each([
    [{ rolePath: 'msf-cmk' }, /^Invalid CDK context: rolePath: must match pattern/],
    [{ rolePath: '/' }, /^Invalid CDK context: rolePath must not be "\/"/],
    [{ operatorRoleName: 'has space' }, /^Invalid CDK context: operatorRoleName: must match pattern/],
    [{ aliasPrefix: 'no-trailing-slash' }, /^Invalid CDK context: aliasPrefix: must match pattern/],
    [{ autoOnboarding: 'yes' }, /^Invalid CDK context: autoOnboarding must be true or false, got "yes"$/],
    [{ pendingWindowDays: '6' }, /^Invalid CDK context: pendingWindowDays must be a whole number of days from 7 to 30, got "6"$/],
    [{ pendingWindowDays: 31 }, /^Invalid CDK context: pendingWindowDays must be a whole number of days from 7 to 30, got 31$/],
  ])('refuses %j', (context, message) => {
    expect(() => read(context)).toThrow(message);
  });

  it('defaults to the execution input defaults, auto-onboarding off and a 30-day pending window', () => {
    expect(read({})).toEqual({ rolePath: '/msf-cmk/', operatorRoleName: 'MsfCmkOperator', aliasPrefix: 'msf-cmk/', autoOnboarding: false, pendingWindowDays: 30, lockTableName: 'msf-cmk-onboarding-locks' });
  });

  it('takes values from `-c` (strings) and from cdk.json (JSON) alike', () => {
    // Prepare
    const fromCli = { autoOnboarding: 'true', pendingWindowDays: '7', rolePath: '/a/b/', operatorRoleName: 'Op', aliasPrefix: 'x/' };
    const fromJson = { autoOnboarding: true, pendingWindowDays: 7, rolePath: '/a/b/', operatorRoleName: 'Op', aliasPrefix: 'x/' };
    // Act
    const settings = [read(fromCli), read(fromJson), read({ autoOnboarding: 'false' }).autoOnboarding];
    // Assess
    const expected = { rolePath: '/a/b/', operatorRoleName: 'Op', aliasPrefix: 'x/', autoOnboarding: true, pendingWindowDays: 7, lockTableName: 'msf-cmk-onboarding-locks' };
    expect(settings).toEqual([expected, expected, false]);
  });
});
