/**
 * The CDK app: the onboarding stack from the context settings, checked by cdk-nag's AwsSolutions pack
 * (cdk-nag 3: a policy-validation plugin; unacknowledged findings fail the synth).
 */
import { type App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { OnboardingStack } from './onboarding-stack';
import { readSettings } from './settings';

export const STACK_NAME = 'MsfCmkOnboarding';

export function buildApp(app: App): OnboardingStack {
  const stack = new OnboardingStack(app, STACK_NAME, {
    settings: readSettings(app.node),
    logLevel: app.node.tryGetContext('logLevel'),
    description: 'Moves Amazon Managed Service for Apache Flink applications onto customer managed KMS keys',
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return stack;
}
