/**
 * House rules asl-validator does not check (toolchain §1–§2): JSONPath only (the local engine
 * silently ignores JSONata), plain Lambda ARN placeholders (or a child state machine's, started by startExecution.sync:2), every Task retries throttling and has a
 * timeout, every Choice has a Default, retry numbers that Step Functions accepts.
 */
const JSONATA_FIELDS = ['QueryLanguage', 'Assign', 'Arguments', 'Output'];
/** The optimized integration that starts a child execution and waits for it, its output as JSON. */
export const START_EXECUTION_SYNC = 'arn:aws:states:::states:startExecution.sync:2';
export const THROTTLING_ERRORS = ['ThrottlingException', 'Throttling'];

export function lintAsl(definition: any): string[] {
  const problems: string[] = [];
  if (definition.QueryLanguage) problems.push('top level: QueryLanguage is set; write JSONPath only');
  const visit = (states: Record<string, any>) => {
    for (const [name, s] of Object.entries(states)) {
      for (const f of JSONATA_FIELDS) if (f in s) problems.push(`${name}: uses ${f} (JSONata/variables are ignored by the local engine)`);
      if (s.Type === 'Task') {
        const child = s.Resource === START_EXECUTION_SYNC && /^\$\{[A-Za-z0-9_]+StateMachineArn\}$/.test(String(s.Parameters?.StateMachineArn));
        if (!child && !/^\$\{[A-Za-z0-9_]+FunctionArn\}$/.test(String(s.Resource)))
          problems.push(
            `${name}: Resource must be a \${<Name>FunctionArn} placeholder, or ${START_EXECUTION_SYNC} of a \${<Name>StateMachineArn}, not ${s.Resource}`,
          );
        const retried = (s.Retry ?? []).flatMap((r: any) => r.ErrorEquals);
        for (const e of THROTTLING_ERRORS) if (!retried.includes(e)) problems.push(`${name}: does not retry ${e}`);
        if (!s.TimeoutSeconds) problems.push(`${name}: has no TimeoutSeconds`);
      }
      for (const r of s.Retry ?? []) {
        if (r.IntervalSeconds !== undefined && (!Number.isInteger(r.IntervalSeconds) || r.IntervalSeconds < 1))
          problems.push(`${name}: IntervalSeconds must be a positive integer`);
        if (r.BackoffRate !== undefined && r.BackoffRate < 1) problems.push(`${name}: BackoffRate must be at least 1`);
        if (r.ErrorEquals.includes('States.ALL') && (r.ErrorEquals.length > 1 || r !== s.Retry.at(-1)))
          problems.push(`${name}: States.ALL must be alone and last`);
      }
      if (s.Type === 'Choice' && !s.Default) problems.push(`${name}: Choice has no Default`);
      for (const b of s.Branches ?? []) visit(b.States);
      if (s.ItemProcessor) visit(s.ItemProcessor.States);
    }
  };
  visit(definition.States ?? {});
  return problems;
}
