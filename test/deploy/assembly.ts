/**
 * The CDK app synthesized once per source state and context, for the tests that deploy it into a
 * sandbox: kept under build/ (git-ignored), keyed by a hash of what the synth reads, so a re-run of the
 * suite reuses it and a change to the stack, the functions or the ASL makes a new one.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { synthesize } from '../../local/stack';

const ROOT = path.resolve(__dirname, '..', '..');
const INPUTS = ['infra', 'lambdas', 'statemachine', 'cdk.json', 'package-lock.json'];

function files(p: string): string[] {
  const full = path.join(ROOT, p);
  return statSync(full).isDirectory() ? readdirSync(full).flatMap((f) => files(path.join(p, f))) : [p];
}

export async function testAssembly(context: Record<string, unknown> = {}): Promise<string> {
  const hash = createHash('sha256');
  for (const f of INPUTS.flatMap(files).sort()) hash.update(f).update(readFileSync(path.join(ROOT, f)));
  hash.update(JSON.stringify(context));
  const key = hash.digest('hex').slice(0, 16);
  const dir = path.join(ROOT, 'build', 'assemblies', key);
  if (existsSync(path.join(dir, 'manifest.json'))) return dir;
  mkdirSync(path.dirname(dir), { recursive: true });
  // Synthesized beside, then moved in one step: parallel test files never see half an assembly.
  const staging = `${dir}.${process.pid}`;
  await synthesize({ outdir: staging, context });
  try {
    renameSync(staging, dir);
  } catch {
    rmSync(staging, { recursive: true, force: true });
  }
  return dir;
}
