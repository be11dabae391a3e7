import { readFileSync } from 'node:fs';
import validator from 'asl-validator';
import { lintAsl } from '../../local/asl-lint';
import { format, readSpec, synced } from '../../local/asl-sync';
import { DEFAULT_DEFINITION, LocalStateMachine, STATE_MACHINE_NAMES, definitionOf, substitute, taskBindings } from '../../local/runner';
import { OPERATIONS, changingSteps, type Operation } from '../../lambdas/lib/model';
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

  it('decides every step in the documented order (facts §2) before applying any, in that order again, inside the application lock', () => {
    expect(mainPath(definition())).toEqual([
      'ValidateInput',
      'AcquireLock',
      'DecideEnsureOperatorRole',
      'DecideEnsureApplication',
      'DecideCreateKey',
      'DecideGrantOperatorKeyAccess',
      'DecideSwitchApplicationToCmk',
      'ReportPlan',
    ]);
    const def = definition();
    expect(def.States.IsPlan).toMatchObject({
      Choices: [{ Variable: '$.config.mode', StringEquals: 'plan', Next: 'ReportPlan' }],
      Default: 'EnsureOperatorRole',
    });
    const applyPath: string[] = [];
    for (let name: string | undefined = 'EnsureOperatorRole'; name && def.States[name].Type !== 'Succeed'; ) {
      if (def.States[name].Type === 'Task' && !applyPath.includes(name)) applyPath.push(name);
      name = def.States[name].Type === 'Choice' ? def.States[name].Choices[0].Next : def.States[name].Next;
    }
    expect(applyPath).toEqual([
      'EnsureOperatorRole',
      'EnsureApplication',
      'CreateKey',
      'GrantOperatorKeyAccess',
      'SwitchApplicationToCmk',
      'VerifyEncryption',
      'ReleaseLock',
    ]);
  });

  it('records each decision in the ledger and applies it with the same function', () => {
    const def = definition();
    for (const step of ['EnsureOperatorRole', 'EnsureApplication', 'CreateKey', 'GrantOperatorKeyAccess', 'SwitchApplicationToCmk']) {
      expect(def.States[`Decide${step}`]).toMatchObject({
        Resource: `\${${step}FunctionArn}`,
        Parameters: { phase: 'decide', 'state.$': '$' },
        ResultPath: `$.ledger.${step}`,
      });
      expect(def.States[step]).toMatchObject({ Resource: `\${${step}FunctionArn}`, Parameters: { phase: 'apply', 'state.$': '$' } });
    }
  });

  it('takes every Retry and Catch from statemachine/retriers.json (npm run asl:sync)', () => {
    expect(format(synced(definition(), 'onboard-application.asl.json'))).toBe(raw);
  });

  it('fails the sync when a Task state has no retriers.json entry, or an entry names no state', () => {
    const bad = definition();
    bad.States.Extra = { Type: 'Task', Resource: '${ExtraFunctionArn}', End: true };
    expect(() => synced(bad, 'onboard-application.asl.json')).toThrow('state Extra is a Task and has no entry');
    const spec = readSpec();
    (spec.machines['onboard-application.asl.json'] as Record<string, object>).Gone = { retry: ['throttled'] };
    expect(() => synced(definition(), 'onboard-application.asl.json', spec)).toThrow('has no state Gone');
  });

  it('binds every Task state to a handler of lambdas/steps through its Resource placeholder', () => {
    const bindings = taskBindings(definition());
    expect(bindings.length).toBeGreaterThan(0);
    for (const b of bindings) expect(steps[b.handlerName]).toBeDefined();
  });

  it('rolls back from every state after the first write, reports a refusal while deciding, and catches nothing before the lock', () => {
    const def = definition();
    const caught = (name: string) => (def.States[name].Catch ?? []).map((c: any) => c.Next);
    expect(caught('ValidateInput')).toEqual([]);
    expect(caught('AcquireLock')).toEqual([]);
    for (const s of [
      'DecideEnsureOperatorRole',
      'DecideEnsureApplication',
      'DecideCreateKey',
      'DecideGrantOperatorKeyAccess',
      'DecideSwitchApplicationToCmk',
    ]) {
      expect({ s, next: caught(s) }).toEqual({ s, next: ['ReportRollback'] });
    }
    // A change that a redrive finds its lock gone for ends at once (RedriveRefused): its cleanup undid the run.
    for (const s of ['EnsureOperatorRole', 'EnsureApplication', 'CreateKey', 'GrantOperatorKeyAccess', 'SwitchApplicationToCmk']) {
      expect({ s, next: caught(s) }).toEqual({ s, next: ['RedriveRefused', 'RevertApplication'] });
    }
    for (const s of ['CheckUpdate', 'VerifyEncryption']) expect({ s, next: caught(s) }).toEqual({ s, next: ['RevertApplication'] });
  });

  it('gives every apply its redrive count, so that a redriven apply checks its lock first, in every operation that changes', () => {
    for (const file of ['onboard-application', 'move-key', 'revert-to-aws-owned-key', 'rotate-key']) {
      const def = JSON.parse(readFileSync(definitionOf(file), 'utf8'));
      const applies = Object.entries(def.States as Record<string, any>).filter(([, st]) => st.Parameters?.phase === 'apply');
      expect(applies.length).toBeGreaterThan(0);
      for (const [name, st] of applies) {
        expect({ file, name, redriveCount: st.Parameters['redriveCount.$'] }).toEqual({ file, name, redriveCount: '$$.Execution.RedriveCount' });
        expect({ file, name, first: st.Catch[0] }).toEqual({
          file,
          name,
          first: { ErrorEquals: ['RedriveRefused'], ResultPath: '$.failure', Next: 'RedriveRefused' },
        });
      }
      expect(def.States.RedriveRefused).toMatchObject({ Type: 'Fail', Error: 'RedriveRefused' });
    }
  });

  it('undoes in reverse order of the documented steps, reads the account back, then releases the lock', () => {
    const chain: string[] = [];
    const def = definition();
    let name: string | undefined = 'RevertApplication';
    while (name && def.States[name].Type !== 'Fail') {
      chain.push(name);
      const s: any = def.States[name];
      name = s.Type === 'Choice' ? s.Choices[0].Next : s.Next;
    }
    expect(chain.filter((n) => def.States[n].Type === 'Task')).toEqual([
      'RevertApplication',
      'RevokeOperatorKeyAccess',
      'RetireKey',
      'DeleteCreatedApplication',
      'RestoreOperatorRole',
      'ReportRollback',
      'ReleaseLockAfterRollback',
    ]);
    expect(name).toBe('RolledBack');
    expect(def.States.IsRolledBack.Default).toBe('ReleaseLockAfterIncompleteRollback');
    expect(def.States.ReleaseLockAfterIncompleteRollback.Next).toBe('RollbackIncomplete');
  });

  it('never retries the apply of CreateKey or of the switch on an error that may come after the call took effect', () => {
    const retried = (state: string) => definition().States[state].Retry.flatMap((r: any) => r.ErrorEquals);
    for (const state of ['CreateKey', 'SwitchApplicationToCmk']) {
      expect(retried(state)).not.toEqual(expect.arrayContaining(['InternalFailure']));
      expect(retried(state)).not.toContain('Lambda.Unknown');
      expect(retried(state)).not.toContain('States.ALL');
      expect(retried(state)).toContain('ThrottlingException');
    }
    expect(retried('CreateKey')).toContain('PrincipalNotYetVisible');
    expect(retried('EnsureApplication')).toContain('RoleNotYetAssumable');
    expect(retried('SwitchApplicationToCmk')).toEqual(expect.arrayContaining(['ApplicationBusy', 'ResourceInUseException']));
  });

  it("retries the lock on DynamoDB's transient errors", () => {
    const retried = definition().States.AcquireLock.Retry.flatMap((r: any) => r.ErrorEquals);
    expect(retried).toEqual(
      expect.arrayContaining(['ProvisionedThroughputExceededException', 'RequestLimitExceeded', 'ThrottlingException', 'InternalServerError']),
    );
  });

  it('refuses to run when a Task state has no handler, before anything runs', () => {
    const handlers = Object.fromEntries(Object.entries(steps).map(([k, v]) => [k, v.handler]));
    delete (handlers as any).CreateKey;
    expect(() => new LocalStateMachine({ handlers })).toThrow(
      /No handler for DecideCreateKey \(\$\{CreateKeyFunctionArn\}\), CreateKey \(\$\{CreateKeyFunctionArn\}\)/,
    );
  });

  it('substitutes placeholders like CDK definitionSubstitutions and refuses an unknown one', () => {
    expect(substitute('{"R":"${AFunctionArn}"}', { AFunctionArn: 'arn:x' })).toBe('{"R":"arn:x"}');
    expect(() => substitute('"${Missing}"', {})).toThrow('no substitution for ${Missing}');
  });
});

describe.each(Object.keys(STATE_MACHINE_NAMES))('statemachine/%s.asl.json', (operation) => {
  const text = readFileSync(definitionOf(operation), 'utf8');
  const def = () => JSON.parse(text);

  it('passes asl-validator 4 and the house lint, and takes every Retry and Catch from retriers.json', () => {
    const { isValid, errorsText } = validator(def(), { checkPaths: true, checkArn: true });
    expect(errorsText()).toBe('');
    expect(isValid).toBe(true);
    expect(lintAsl(def())).toEqual([]);
    expect(format(synced(def(), `${operation}.asl.json`))).toBe(text);
  });

  it('tells ValidateInput which operation it is, and decides each changing step into the ledger before applying it with the same function', () => {
    const d = def();
    if (operation in OPERATIONS && operation !== 'onboard-application') expect(d.States.ValidateInput.Parameters.operation).toBe(operation);
    // The audit changes nothing: it has no changing steps.
    const changing = operation in OPERATIONS ? changingSteps({ config: { operation: operation as Operation } as never }) : [];
    for (const step of changing) {
      expect(d.States[`Decide${step}`]).toMatchObject({
        Resource: `\${${step}FunctionArn}`,
        Parameters: { phase: 'decide', 'state.$': '$' },
        ResultPath: `$.ledger.${step}`,
      });
      expect(d.States[step]).toMatchObject({ Resource: `\${${step}FunctionArn}`, Parameters: { phase: 'apply', 'state.$': '$' } });
    }
  });
});

it('every handler of lambdas/steps serves some state machine', () => {
  const bound = new Set(
    Object.keys(STATE_MACHINE_NAMES).flatMap((op) => taskBindings(JSON.parse(readFileSync(definitionOf(op), 'utf8'))).map((b) => b.handlerName)),
  );
  expect(Object.keys(steps).filter((name) => !bound.has(name))).toEqual([]);
});
