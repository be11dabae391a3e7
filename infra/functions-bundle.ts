/**
 * The step functions' code: one esbuild run for every entry of the `steps` table into one folder, so
 * that all functions share one asset (`steps/validate-input.js`, handler `steps/validate-input.handler`).
 * One build instead of one per function keeps a synth to about a second.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { buildSync } from 'esbuild';
import { steps } from '../lambdas/steps';

const ROOT = path.resolve(__dirname, '..');

/** The handler setting of a step's function in the shared asset. */
export const handlerOf = (entry: string) => `${entry}.handler`;

/**
 * Builds the bundles into `outdir` (emptied first). With `bundle: false` (a synth that only reads the
 * template), writes a placeholder instead, as CDK's own bundling skip does.
 */
export function bundleFunctions(outdir: string, options: { bundle: boolean }): string {
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  if (!options.bundle) {
    writeFileSync(path.join(outdir, 'README'), 'bundling skipped for this synth\n');
    return outdir;
  }
  const entryPoints = Object.fromEntries(Object.values(steps).map((s) => [s.entry, path.join(ROOT, 'lambdas', `${s.entry}.ts`)]));
  buildSync({
    entryPoints,
    outdir,
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'cjs',
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    // The Node.js 22 runtime provides the AWS SDK v3 (as NodejsFunction leaves it out by default).
    external: ['@aws-sdk/*'],
    logLevel: 'warning',
  });
  return outdir;
}
