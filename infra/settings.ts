/**
 * The deployment's CDK context settings (`-c name=value` or cdk.json "context"), checked at synth time
 * against the same schema the functions check their environment with (lambdas/lib/settings.schema.json),
 * so a deployment can never hold a value its functions would refuse.
 */
import type { Node } from 'constructs';
import schema from '../lambdas/lib/settings.schema.json';
import { validateSettings, type Settings } from '../lambdas/lib/settings';

export type { Settings } from '../lambdas/lib/settings';

/** Context values from `-c` arrive as strings, those from cdk.json or `new App({ context })` as JSON. */
function fromContext(name: string, value: unknown): unknown {
  const type = (schema.properties as Record<string, { type: string }>)[name].type;
  if (typeof value !== 'string') return value;
  if (type === 'boolean' && (value === 'true' || value === 'false')) return value === 'true';
  if (type === 'integer' && /^-?\d+$/.test(value)) return Number(value);
  // A list: a JSON array, or names separated by commas (`-c requestPrincipals=111122223333,444455556666`).
  if (type === 'array') {
    if (!value.trim().startsWith('['))
      return value
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean);
    try {
      return JSON.parse(value);
    } catch {
      return value; // the schema then says it must be an array
    }
  }
  return value;
}

export function readSettings(node: Node): Settings {
  const raw = Object.fromEntries(
    Object.keys(schema.properties).flatMap((name) => {
      const value = node.tryGetContext(name) as unknown;
      return value === undefined ? [] : [[name, fromContext(name, value)]];
    }),
  );
  try {
    return validateSettings(raw);
  } catch (e) {
    throw new Error(`Invalid CDK context: ${(e as Error).message}`);
  }
}
