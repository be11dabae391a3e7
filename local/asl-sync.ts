/**
 * Writes every Retry and Catch of statemachine/*.asl.json from statemachine/retriers.json, the one source
 * of them (`npm run asl:sync`; `--check` exits 1 and names the states that drift instead). The ASL files
 * stay the ones CDK deploys and the runner runs; this only keeps their repeated parts in one place.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const STATEMACHINE_DIR = join(__dirname, '..', 'statemachine');

interface Spec {
  errors: Record<string, string[]>;
  retriers: Record<string, Record<string, unknown>>;
  catchers: Record<string, Record<string, unknown>[]>;
  /** A machine's states, or the name of the machine whose states it shares (the same step shape). */
  machines: Record<string, Record<string, { retry?: string[]; catch?: string }> | string>;
}

export const readSpec = (): Spec => JSON.parse(readFileSync(join(STATEMACHINE_DIR, 'retriers.json'), 'utf8'));

function retrier(spec: Spec, name: string): Record<string, unknown> {
  const r = spec.retriers[name];
  if (!r) throw new Error(`retriers.json: no retrier ${name}`);
  const { $comment: _comment, ErrorEquals, ...rest } = r;
  const errors = typeof ErrorEquals === 'string' ? spec.errors[ErrorEquals.slice(1)] : ErrorEquals;
  if (!Array.isArray(errors)) throw new Error(`retriers.json: retrier ${name} names no errors`);
  return { ErrorEquals: errors, ...rest };
}

/** The definition with every listed state's Retry and Catch as the spec says; every Task must be listed. */
export function synced(definition: any, machine: string, spec: Spec = readSpec()): any {
  const entry = spec.machines[machine];
  const states = typeof entry === 'string' ? spec.machines[entry] : entry;
  if (!states || typeof states === 'string') throw new Error(`retriers.json: no entry for ${machine}`);
  const out = structuredClone(definition);
  const seen = new Set<string>();
  const visit = (all: Record<string, any>) => {
    for (const [name, s] of Object.entries(all)) {
      seen.add(name);
      const wanted = states[name];
      if (!wanted) {
        if (s.Type === 'Task') throw new Error(`retriers.json: ${machine} state ${name} is a Task and has no entry`);
      } else {
        delete s.Retry;
        delete s.Catch;
        // Retry and Catch right after Resource/Parameters/ResultPath, before Next/End, as written by hand.
        const { Next, End, ...head } = s;
        const rebuilt: Record<string, unknown> = { ...head };
        if (wanted.retry?.length) rebuilt.Retry = wanted.retry.map((r) => retrier(spec, r));
        if (wanted.catch) {
          const shape = spec.catchers[wanted.catch];
          if (!shape) throw new Error(`retriers.json: no catcher ${wanted.catch}`);
          rebuilt.Catch = shape.map((c) => (c.Next === '{next}' ? { ...c, Next } : c));
        }
        if (Next !== undefined) rebuilt.Next = Next;
        if (End !== undefined) rebuilt.End = End;
        for (const k of Object.keys(s)) delete s[k];
        Object.assign(s, rebuilt);
      }
      for (const b of s.Branches ?? []) visit(b.States);
      if (s.ItemProcessor) visit(s.ItemProcessor.States);
    }
  };
  visit(out.States);
  for (const name of Object.keys(states)) if (!seen.has(name)) throw new Error(`retriers.json: ${machine} has no state ${name}`);
  return out;
}

export const format = (definition: unknown) => `${JSON.stringify(definition, null, 2)}\n`;

if (require.main === module) {
  const check = process.argv.includes('--check');
  let drift = false;
  for (const machine of Object.keys(readSpec().machines)) {
    const path = join(STATEMACHINE_DIR, machine);
    const text = readFileSync(path, 'utf8');
    const next = format(synced(JSON.parse(text), machine));
    if (next === text) continue;
    drift = true;
    if (check) console.error(`${machine}: Retry/Catch differ from statemachine/retriers.json (npm run asl:sync)`);
    else writeFileSync(path, next);
  }
  process.exitCode = check && drift ? 1 : 0;
}
