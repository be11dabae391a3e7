/**
 * The console's server side, mounted on the sandbox's port at /_console/ (startSandbox `mounts`): the page,
 * its script — bundled by esbuild on the first request and kept in memory, so the console costs nothing
 * at sandbox start-up — and the config the page's AWS SDK clients need. The page then talks to the sandbox
 * through the AWS APIs, as any client does (and reads the request log, GET /_sandbox/log, for its Calls view).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import * as path from 'node:path';
import type { Mount } from '../sandbox/server';
import { ROOT_ACCESS_KEY, ROOT_SECRET_KEY } from '../sandbox/sandbox';

export const CONSOLE_PATH = '/_console/';

const DIR = __dirname;
const ROOT = path.resolve(DIR, '..', '..');

/** The execution input examples and the sample events, read at build time into the virtual module `console-samples`. */
function samples(): string {
  const read = (dir: string) =>
    Object.fromEntries(
      readdirSync(path.join(ROOT, dir))
        .filter((f) => f.endsWith('.json') && f !== 'index.json')
        .sort()
        .map((f) => [`${dir}/${f}`, JSON.parse(readFileSync(path.join(ROOT, dir, f), 'utf8'))]),
    );
  const events = { ...read('events/entries'), ...read('events'), ...read('events/near-misses') };
  return `export const examples = ${JSON.stringify(read('statemachine/examples'))}; export const events = ${JSON.stringify(events)};`;
}

let bundle: Promise<string> | undefined;

/** The browser bundle of app.ts: the SDK clients, dagre and the project's own input validation. */
async function buildBundle(): Promise<string> {
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: [path.join(DIR, 'app.ts')],
    bundle: true,
    write: false,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    minify: true,
    legalComments: 'none',
    logLevel: 'silent',
    plugins: [
      {
        name: 'samples',
        setup(b) {
          b.onResolve({ filter: /^console-samples$/ }, () => ({ path: 'console-samples', namespace: 'samples' }));
          b.onLoad({ filter: /.*/, namespace: 'samples' }, () => ({ contents: samples(), loader: 'js' }));
        },
      },
      {
        // lambdas/lib/names.ts hashes long names with node:crypto; validation never calls it.
        name: 'no-node-crypto',
        setup(b) {
          b.onResolve({ filter: /^node:crypto$/ }, () => ({ path: 'node:crypto', namespace: 'stub' }));
          b.onLoad({ filter: /.*/, namespace: 'stub' }, () => ({
            contents: 'export const createHash = () => { throw new Error("node:crypto is not in the browser"); };',
          }));
        },
      },
    ],
  });
  return result.outputFiles[0].text;
}

const reply = (status: number, type: string, body: string) => ({ status, headers: { 'content-type': type, 'cache-control': 'no-store' }, body });

export const consoleMount: Mount = async (req, sandbox) => {
  if (req.method !== 'GET') return reply(405, 'text/plain', 'GET only');
  switch (req.path) {
    case '':
    case 'index.html':
      return reply(200, 'text/html; charset=utf-8', await readFile(path.join(DIR, 'index.html'), 'utf8'));
    case 'app.js':
      bundle ??= buildBundle();
      try {
        return reply(200, 'text/javascript; charset=utf-8', await bundle);
      } catch (e) {
        bundle = undefined;
        return reply(500, 'text/plain', `console bundle failed: ${(e as Error).message}`);
      }
    case 'config.json':
      // The account root's keys, as the sandbox prints them: to this machine only.
      if (!req.loopback) return reply(403, 'application/json', JSON.stringify({ error: 'the console config is served to loopback only' }));
      return reply(
        200,
        'application/json',
        JSON.stringify({ region: sandbox.region, account: sandbox.account, credentials: { accessKeyId: ROOT_ACCESS_KEY, secretAccessKey: ROOT_SECRET_KEY } }),
      );
    default:
      return reply(404, 'text/plain', `no console page ${req.path}`);
  }
};

export const consoleMounts = { [CONSOLE_PATH]: consoleMount };
export const consoleUrl = (endpoint: string) => `${endpoint}${CONSOLE_PATH}`;
