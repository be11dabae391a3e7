/**
 * Input validation from the one schema (statemachine/input.schema.json): defaults applied, unknown fields
 * refused, and every problem reported with the field it concerns — plus the rules a JSON schema cannot
 * state, so that nothing an input carries fails later, after writes (tag keys reserved for AWS and the
 * workflow, keys that differ only in case, which IAM treats as one).
 */
import Ajv, { type ErrorObject } from 'ajv';
import schema from '../../statemachine/input.schema.json';
import { InvalidInput } from './errors';
import { isReservedTagKey } from './names';
import { OPERATIONS, type Config, type Operation } from './model';

/** The input fields an operation takes beyond applicationName, mode and tags (one schema for all of them). */
const OPERATION_FIELDS: Record<Operation, readonly string[]> = {
  'onboard-application': ['createApplication', 'keyId'],
  'revert-to-aws-owned-key': [],
  'move-key': ['keyId'],
  'rotate-key': ['rotation', 'rotationPeriodInDays', 'restart'],
};
const OPERATION_SPECIFIC = [...new Set(Object.values(OPERATION_FIELDS).flat())];

const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: true, allowUnionTypes: false, unicodeRegExp: true });
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
    case 'required':
      return `${field}: is required`;
    case 'additionalProperties':
      return `${field}: is not a known field`;
    case 'propertyNames':
      return `${field}: is not a valid tag key`;
    default:
      return `${field}: ${e.message}`;
  }
}

function tagProblems(tags: Record<string, string>): string[] {
  const problems = Object.keys(tags)
    .filter(isReservedTagKey)
    .map((k) => `tags.${k}: is reserved (aws:, msf-cmk: and managed-by belong to AWS and the workflow)`);
  const seen = new Map<string, string>();
  for (const k of Object.keys(tags)) {
    const other = seen.get(k.toLowerCase());
    if (other) problems.push(`tags.${k}: differs from tags.${other} only in case, and IAM tag keys ignore case`);
    seen.set(k.toLowerCase(), k);
  }
  return problems;
}

/** Returns the input with defaults, or throws InvalidInput naming every offending field. */
export function validateInput(input: unknown, operation: Operation = 'onboard-application'): Config {
  if (!(operation in OPERATIONS)) throw new InvalidInput(`(operation): ${JSON.stringify(operation)} is not one of ${Object.keys(OPERATIONS).join(', ')}`);
  const copy = structuredClone(input ?? {});
  if (typeof copy !== 'object' || Array.isArray(copy)) throw new InvalidInput('(input): must be a JSON object');
  if (!check(copy)) throw new InvalidInput([...new Set((check.errors ?? []).map(describe))].join('; '));
  const foreign = OPERATION_SPECIFIC.filter((f) => f in copy && !OPERATION_FIELDS[operation].includes(f));
  const problems = [...foreign.map((f) => `${f}: is not a field of ${operation}`), ...tagProblems(copy.tags)];
  if (copy.rotationPeriodInDays !== undefined && copy.rotation !== 'automatic')
    problems.push('rotationPeriodInDays: is a period of automatic rotation, so it needs rotation "automatic"');
  if (copy.restart !== undefined && (copy.rotation ?? 'on-demand') !== 'on-demand')
    problems.push('restart: follows an on-demand rotation; with rotation "automatic" or "off" nothing restarts');
  if (problems.length) throw new InvalidInput(problems.join('; '));
  return { ...copy, operation };
}
