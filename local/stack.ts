/**
 * The CDK app, synthesized and deployed into a sandbox: `npm run deploy:local`, `npm run sandbox --
 * --deploy`, `npm start` and the tests that run on the deployed stack. The synth is the same one
 * `cdk synth` makes (the app of infra/app.ts with cdk.json's context); the deploy is the sandbox's
 * generic template deployer (local/sandbox/deploy.ts), which knows nothing of this product.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
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
  const app = new App({ outdir, context: { ...cdkJson.context, ...options.context } });
  buildApp(app);
  app.synth();
  return outdir;
}

/** Deploys the stack from an assembly folder (synthesizing one when none is given) into the sandbox. */
export async function deployStack(sandbox: Sandbox, options: { assemblyDir?: string; context?: Record<string, unknown>; edit?: (template: any) => void } = {}): Promise<DeployResult> {
  const dir = options.assemblyDir ?? (await synthesize({ context: options.context }));
  const assembly = readAssembly(dir, STACK_NAME);
  options.edit?.(assembly.template);
  return deployTemplate(sandbox, STACK_NAME, assembly);
}

/** The outputs as `cdk deploy` prints them. */
export function formatOutputs(result: DeployResult): string[] {
  const counts = `${result.created.length} created, ${result.updated.length} updated, ${result.deleted.length} deleted, ${result.unchanged.length} unchanged`;
  return [`✅  ${result.stackName} (${counts})`, '', 'Outputs:', ...Object.entries(result.outputs).map(([k, v]) => `${result.stackName}.${k} = ${v}`)];
}
