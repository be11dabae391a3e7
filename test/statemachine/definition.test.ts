import { readFileSync } from 'node:fs';
import validator from 'asl-validator';
import { lintAsl } from '../../local/asl-lint';
import { DEFAULT_DEFINITION, LocalStateMachine, substitute, taskBindings } from '../../local/runner';
import { steps } from '../../lambdas/steps';

const raw = readFileSync(DEFAULT_DEFINITION, 'utf8');
const definition = () => JSON.parse(raw);

/** Follows Next from StartAt, the way the console graph reads. */
function mainPath(def: any): string[] {
  const path: string[] = [];
  let name: string | undefined = def.StartAt;
  while (name && !path.includes(name)) {
    path.push(name);
    const s = def.States[name];
    name = s.Type === 'Choice' ? s.Choices[0].Next : s.Next;
  }
  return path.filter((n) => def.States[n].Type === 'Task');
}

describe('statemachine/onboard-application.asl.json', () => {
  it('passes asl-validator 4 on the raw file, placeholders included', () => {
    const { isValid, errorsText } = validator(definition(), { checkPaths: true, checkArn: true });
    expect(errorsText()).toBe('');
    expect(isValid).toBe(true);
  });

  it('passes the house lint: JSONPath only, throttling retried, timeouts, Choice defaults', () => {
    expect(lintAsl(definition())).toEqual([]);
  });

  it('lint catches what it is for (a JSONata field, a Task without throttling retry, a Choice without Default)', () => {
    const bad = definition();
    bad.States.EnsureOperatorRole.Output = '{% $states.input %}';
    bad.States.CreateKey.Retry = [];
    delete bad.States.IsUpdateComplete.Default;
    expect(lintAsl(bad)).toEqual(
      expect.arrayContaining([
        expect.stringContaining('EnsureOperatorRole: uses Output'),
        'CreateKey: does not retry ThrottlingException',
        'IsUpdateComplete: Choice has no Default',
      ]),
    );
  });

  it('orders the Task states as AWS documents the setup (facts §2), inside the application lock', () => {
    expect(mainPath(definition())).toEqual([
      'ValidateInput',
      'AcquireLock',
      'EnsureOperatorRole',
      'EnsureApplication',
      'EnsureKeyAdminRole',
      'CreateKey',
      'GrantOperatorKeyAccess',
      'SwitchApplicationToCmk',
      'VerifyEncryption',
      'ReleaseLock',
    ]);
  });

  it('binds every Task state to a handler of lambdas/steps through its Resource placeholder', () => {
    const bindings = taskBindings(definition());
    expect(bindings.length).toBeGreaterThan(0);
    for (const b of bindings) expect(steps[b.handlerName]).toBeDefined();
    expect(new Set(bindings.map((b) => b.handlerName))).toEqual(new Set(Object.keys(steps)));
  });

  it('rolls back from every state after the first write, and from nowhere before it', () => {
    const def = definition();
    const caught = (name: string) => (def.States[name].Catch ?? []).map((c: any) => c.Next);
    expect(caught('ValidateInput')).toEqual([]);
    expect(caught('AcquireLock')).toEqual([]);
    for (const s of ['EnsureOperatorRole', 'EnsureApplication', 'EnsureKeyAdminRole', 'CreateKey', 'GrantOperatorKeyAccess', 'SwitchApplicationToCmk', 'CheckUpdate', 'VerifyEncryption']) {
      expect(caught(s)).toEqual(['RevertApplication']);
    }
  });

  it('undoes in reverse order of the documented steps, then releases the lock', () => {
    const chain: string[] = [];
    const def = definition();
    let name: string | undefined = 'RevertApplication';
    while (name && def.States[name].Type !== 'Fail') {
      chain.push(name);
      const s: any = def.States[name];
      name = s.Type === 'Choice' ? s.Choices[0].Next : s.Next;
    }
    expect(chain.filter((n) => def.States[n].Type === 'Task')).toEqual([
      'RevertApplication', 'RevokeOperatorKeyAccess', 'RetireKey', 'DeleteKeyAdminRole', 'DeleteCreatedApplication', 'DeleteOperatorRole', 'ReportRollback', 'ReleaseLockAfterRollback',
    ]);
    expect(name).toBe('RolledBack');
  });

  it('retries IAM propagation where a fresh role is first used, and a busy application on the switch', () => {
    const retried = (state: string) => definition().States[state].Retry.flatMap((r: any) => r.ErrorEquals);
    expect(retried('CreateKey')).toContain('PrincipalNotYetVisible');
    expect(retried('EnsureApplication')).toContain('RoleNotYetAssumable');
    expect(retried('SwitchApplicationToCmk')).toEqual(expect.arrayContaining(['ConcurrentModificationException', 'ResourceInUseException']));
  });

  it('refuses to run when a Task state has no handler, before anything runs', () => {
    const handlers = Object.fromEntries(Object.entries(steps).map(([k, v]) => [k, v.handler]));
    delete (handlers as any).CreateKey;
    expect(() => new LocalStateMachine({ handlers })).toThrow(/No handler for CreateKey \(\$\{CreateKeyFunctionArn\}\)/);
  });

  it('substitutes placeholders like CDK definitionSubstitutions and refuses an unknown one', () => {
    expect(substitute('{"R":"${AFunctionArn}"}', { AFunctionArn: 'arn:x' })).toBe('{"R":"arn:x"}');
    expect(() => substitute('"${Missing}"', {})).toThrow('no substitution for ${Missing}');
  });
});
