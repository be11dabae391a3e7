/**
 * What the docs say about the code, checked against the code, so they cannot drift apart again: the number
 * of functions the stack deploys, and the one list of services the sandbox emulates.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { steps } from '../../lambdas/steps';
import { createSandbox } from '../../local/sandbox/server';

const ROOT = path.resolve(__dirname, '../..');
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');

describe('docs agree with the code', () => {
  it('docs/operations.md counts the Lambda functions of lambdas/steps/index.ts, steps and compensations', () => {
    // Prepare
    const entries = Object.values(steps).map((s) => s.entry);
    // Act
    const [, total, forward, undo] =
      /\| (\d+) Lambda functions \| One per entry of `lambdas\/steps\/index\.ts`: (\d+) steps and (\d+) compensations/.exec(read('docs/operations.md')) ?? [];
    // Assess
    expect([total, forward, undo].map(Number)).toEqual([
      entries.length,
      entries.filter((e) => e.startsWith('steps/')).length,
      entries.filter((e) => e.startsWith('compensations/')).length,
    ]);
  });

  it('docs/sandbox.md lists exactly the services the sandbox registers, by signing name', () => {
    // Prepare
    const doc = read('docs/sandbox.md');
    const section = doc.slice(doc.indexOf('## What it emulates'), doc.indexOf('\n## ', doc.indexOf('## What it emulates') + 1));
    // Act
    const listed = [...section.matchAll(/^\| [^|]+ \| `([a-z0-9-]+)` \|/gm)].map((m) => m[1]);
    // Assess
    expect(listed.sort()).toEqual([...createSandbox().services.keys()].sort());
  });

  it('README.md links to that list instead of keeping its own', () => {
    expect(read('README.md')).toContain('docs/sandbox.md#what-it-emulates');
    expect(read('README.md')).not.toMatch(/It does not emulate:|sandbox \(IAM, STS, KMS/);
  });
});
