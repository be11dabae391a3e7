/**
 * The CDK app, synthesized and deployed into a sandbox: `npm run deploy:local`, `npm run sandbox --
 * --deploy`, `npm start` and the tests that run on the deployed stack. The synth is the same one
 * `cdk synth` makes (the app of infra/app.ts with cdk.json's context); the deploy is the sandbox's
 * generic template deployer (local/sandbox/deploy.ts), which knows nothing of this product.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { deployTemplate, readAssembly, type DeployResult } from './sandbox/deploy';
import type { Sandbox } from './sandbox/sandbox';

export const STACK_NAME = 'MsfCmkOnboarding';
const ROOT = path.resolve(__dirname, '..');

/** Synthesizes the app into `outdir` (a new temporary folder by default) and returns it. */
export async function synthesize(options: { outdir?: string; context?: Record<string, unknown> } = {}): Promise<string> {
  const { App } = await import('aws-cdk-lib');
  const { buildApp } = await import('../infra/app');
  const outdir = options.outdir ?? mkdtempSync(path.join(tmpdir(), 'msf-cmk-cdk-'));
  const cdkJson = JSON.parse(readFileSync(path.join(ROOT, 'cdk.json'), 'utf8'));
  // CDK's built-in CloudFormation validation (a WebAssembly engine, ~4 s) only warns by default; the
  // template is the same without it, and `cdk synth` still runs it.
  const app = new App({ outdir, context: { ...cdkJson.context, ...options.context }, builtinCloudFormationValidation: false });
  buildApp(app);
  app.synth();
  return outdir;
}

const SYNTH_INPUTS = ['infra', 'lambdas', 'statemachine', 'cdk.json', 'package-lock.json'];

function files(p: string): string[] {
  const full = path.join(ROOT, p);
  return statSync(full).isDirectory() ? readdirSync(full).flatMap((f) => files(path.join(p, f))) : [p];
}

/**
 * The assembly for the sources as they are now and this context, synthesized once and kept under
 * build/assemblies/ (git-ignored): a change to the stack, the functions or the ASL makes a new one.
 */
export async function cachedAssembly(context: Record<string, unknown> = {}): Promise<string> {
  const hash = createHash('sha256');
  for (const f of SYNTH_INPUTS.flatMap(files).sort()) hash.update(f).update(readFileSync(path.join(ROOT, f)));
  hash.update(JSON.stringify(context));
  const dir = path.join(ROOT, 'build', 'assemblies', hash.digest('hex').slice(0, 16));
  if (existsSync(path.join(dir, 'manifest.json'))) return dir;
  const parent = path.dirname(dir);
  mkdirSync(parent, { recursive: true });
  // Only the newest few are kept; synthesized beside and moved in one step, so that parallel users
  // (test files) never see half an assembly.
  for (const old of readdirSync(parent)
    .map((d) => path.join(parent, d))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs)
    .slice(8))
    rmSync(old, { recursive: true, force: true });
  const staging = `${dir}.${process.pid}`;
  await synthesize({ outdir: staging, context });
  try {
    renameSync(staging, dir);
  } catch {
    rmSync(staging, { recursive: true, force: true });
  }
  return dir;
}

/** Deploys the stack from an assembly folder (synthesizing one when none is given) into the sandbox. */
export async function deployStack(
  sandbox: Sandbox,
  options: { assemblyDir?: string; context?: Record<string, unknown>; edit?: (template: any) => void } = {},
): Promise<DeployResult> {
  const dir = options.assemblyDir ?? (await cachedAssembly(options.context));
  const assembly = readAssembly(dir, STACK_NAME);
  options.edit?.(assembly.template);
  return deployTemplate(sandbox, STACK_NAME, assembly);
}

/** The outputs as `cdk deploy` prints them. */
export function formatOutputs(result: DeployResult): string[] {
  const counts = `${result.created.length} created, ${result.updated.length} updated, ${result.deleted.length} deleted, ${result.unchanged.length} unchanged`;
  return [`✅  ${result.stackName} (${counts})`, '', 'Outputs:', ...Object.entries(result.outputs).map(([k, v]) => `${result.stackName}.${k} = ${v}`)];
}
