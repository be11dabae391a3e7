/** The shared operator model on 12 applications, and its settings' refusals (the 101-application run: npm run test:exhaustive). */
import { validateSettings } from '../../lambdas/lib/settings';
import { ACCOUNT, sharedOperatorArn } from './harness';
import { sharedOperatorSuite } from './shared-operator';

sharedOperatorSuite(12);

describe('sharedOperatorRoleArn settings', () => {
  it.each([
    [{ sharedOperatorRoleArn: `arn:aws:iam::${ACCOUNT}:role/msf-cmk/pipeline` }, 'is under rolePath /msf-cmk/'],
    [{ sharedOperatorRoleArn: sharedOperatorArn('flink-pipeline'), delegateToAccount: true }, 'not with delegateToAccount'],
    [{ sharedOperatorRoleArn: `arn:aws:iam::${ACCOUNT}:role/MsfCmkKeyAdmin` }, 'is the key administrator'],
    [{ sharedOperatorRoleArn: 'pipeline' }, 'sharedOperatorRoleArn: must match pattern'],
  ])('refuses %j, naming the setting', (settings, message) => {
    expect(() => validateSettings(settings)).toThrow(message);
  });
});
