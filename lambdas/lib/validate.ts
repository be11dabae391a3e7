/**
 * Input validation from the one schema (statemachine/input.schema.json): defaults applied, unknown
 * fields refused, and the first problem reported with the field it concerns.
 */
import Ajv, { type ErrorObject } from 'ajv';
import schema from '../../statemachine/input.schema.json';
import { InvalidInput } from './errors';
import type { Config } from './model';

const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: true, allowUnionTypes: false });
const check = ajv.compile<Config>(schema);

function fieldOf(e: ErrorObject): string {
  const base = e.instancePath.replace(/^\//, '').replace(/\//g, '.');
  const extra = e.params as Record<string, string>;
  const child = extra.missingProperty ?? extra.additionalProperty ?? extra.propertyName;
  return [base, child].filter(Boolean).join('.') || '(input)';
}

function describe(e: ErrorObject): string {
  const field = fieldOf(e);
  switch (e.keyword) {
    case 'required': return `${field}: is required`;
    case 'additionalProperties': return `${field}: is not a known field`;
    case 'propertyNames': return `${field}: is not a valid tag key`;
    default: return `${field}: ${e.message}`;
  }
}

/** Returns the input with defaults, or throws InvalidInput naming every offending field. */
export function validateInput(input: unknown): Config {
  const copy = structuredClone(input ?? {});
  if (typeof copy !== 'object' || Array.isArray(copy)) throw new InvalidInput('(input): must be a JSON object');
  if (!check(copy)) {
    const problems = [...new Set((check.errors ?? []).map(describe))];
    throw new InvalidInput(problems.join('; '));
  }
  return copy;
}
