/**
 * The sandbox knows nothing of the product: no file under local/sandbox/ imports the functions, the
 * stack, the runner, the demo or any other product module — so what runs on it runs as it would on AWS.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..');
const SANDBOX = path.join(ROOT, 'local', 'sandbox');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const full = path.join(dir, f);
    return statSync(full).isDirectory() ? sources(full) : /\.(ts|cjs|js|mjs)$/.test(f) ? [full] : [];
  });
}

/** Every relative module a source text names (import/export … from, import(), require()), resolved from `file`. */
function importsIn(text: string, file: string): string[] {
  const found = [...text.matchAll(/(?:from\s+|import\s*\(\s*|require\s*\(\s*|import\s+)['"]([^'"]+)['"]/g)].map((m) => m[1]);
  return found.filter((m) => m.startsWith('.')).map((m) => path.resolve(path.dirname(file), m));
}
const imports = (file: string) => importsIn(readFileSync(file, 'utf8'), file);

describe('the sandbox architecture', () => {
  it('has no import from local/sandbox/ that leaves it (lambdas/, infra/, local/runner, local/demo, …)', () => {
    const files = sources(SANDBOX);
    expect(files.length).toBeGreaterThan(20);
    const leaving = files.flatMap((f) =>
      imports(f)
        .filter((m) => !m.startsWith(SANDBOX + path.sep))
        .map((m) => `${path.relative(ROOT, f)} → ${path.relative(ROOT, m)}`),
    );
    expect(leaving).toEqual([]);
  });

  it('would notice one (the check reads dynamic imports and requires too)', () => {
    const probe = path.join(SANDBOX, 'services', 'probe.ts');
    const fake = (text: string) => importsIn(text, probe);
    expect(fake("const d = await import('../../demo');")).toEqual([path.join(ROOT, 'local', 'demo')]);
    expect(fake("import { steps } from '../../../lambdas/steps';")).toEqual([path.join(ROOT, 'lambdas', 'steps')]);
    expect(fake("require('../../runner')")).toEqual([path.join(ROOT, 'local', 'runner')]);
  });
});
