/**
 * EventBridge event patterns: `matchesPattern` decides whether an event matches, `validatePattern`
 * finds what PutRule would refuse with InvalidEventPatternException. Written here because no maintained
 * offline matcher could be installed (the one npm-style candidate found, eb-patterns, is not on the
 * registry). Semantics, from the EventBridge user guide (eb-event-patterns, eb-create-pattern-operators,
 * eb-event-patterns-arrays): every field of the pattern must match (AND); a leaf is an array of
 * alternatives (OR); a nested object matches the event's nested object; when the event's value is an
 * array, the field matches if any element does; `$or` takes a list of sub-patterns.
 */

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Matcher = Json;

const isObject = (v: unknown): v is Record<string, any> => typeof v === 'object' && v !== null && !Array.isArray(v);
/** A leaf value: not an object (arrays are looked into element by element). */
const isLeaf = (v: unknown) => !isObject(v) && !Array.isArray(v);

const lower = (s: string) => s.toLowerCase();

/** `*` matches any run of characters; `\*` is a literal star. */
function wildcard(pattern: string, value: string): boolean {
  const source = pattern
    .split(/(\\\*|\*)/)
    .map((part) => (part === '*' ? '.*' : part === '\\*' ? '\\*' : part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`, 's').test(value);
}

/** `{"prefix": "x"}` or `{"prefix": {"equals-ignore-case": "x"}}` (same for suffix). */
function affix(spec: any, value: unknown, test: (v: string, a: string) => boolean): boolean {
  if (typeof value !== 'string') return false;
  if (isObject(spec)) return test(lower(value), lower(String(spec['equals-ignore-case'])));
  return test(value, spec);
}
const starts = (v: string, a: string) => v.startsWith(a);
const ends = (v: string, a: string) => v.endsWith(a);

function numeric(spec: any[], value: unknown): boolean {
  if (typeof value !== 'number') return false;
  for (let i = 0; i < spec.length; i += 2) {
    const [op, bound] = [spec[i], spec[i + 1] as number];
    const ok = op === '<' ? value < bound : op === '<=' ? value <= bound : op === '>' ? value > bound : op === '>=' ? value >= bound : value === bound;
    if (!ok) return false;
  }
  return true;
}

/** `anything-but`: a value, a list, or `{prefix|suffix|equals-ignore-case|wildcard}`; only present leaf values match. */
function anythingBut(spec: any, value: unknown): boolean {
  if (value === undefined || !isLeaf(value)) return false;
  if (isObject(spec)) {
    if (typeof value !== 'string') return false;
    if ('prefix' in spec) return !value.startsWith(spec.prefix);
    if ('suffix' in spec) return !value.endsWith(spec.suffix);
    if ('wildcard' in spec) return ![spec.wildcard].flat().some((w: string) => wildcard(w, value));
    const excluded: string[] = [spec['equals-ignore-case']].flat();
    return !excluded.some((x) => lower(x) === lower(value));
  }
  return ![spec].flat().some((x) => x === value);
}

/** One alternative of a leaf array against one leaf value of the event (`undefined` = field absent). */
function matchOne(m: Matcher, value: unknown): boolean {
  if (!isObject(m)) return value !== undefined && m === value;
  const [op, spec] = Object.entries(m)[0];
  switch (op) {
    case 'exists':
      return spec ? value !== undefined && isLeaf(value) : value === undefined;
    case 'prefix':
      return affix(spec, value, starts);
    case 'suffix':
      return affix(spec, value, ends);
    case 'equals-ignore-case':
      return typeof value === 'string' && lower(value) === lower(String(spec));
    case 'wildcard':
      return typeof value === 'string' && wildcard(String(spec), value);
    case 'numeric':
      return numeric(spec as any[], value);
    case 'anything-but':
      return anythingBut(spec, value);
    default:
      return false;
  }
}

function matchLeaf(alternatives: Matcher[], value: unknown): boolean {
  // An array in the event matches if any element does; `exists` asks about the field as a whole.
  if (Array.isArray(value)) {
    return alternatives.some((m) => (isObject(m) && 'exists' in m ? (m.exists ? value.length > 0 : false) : value.some((v) => matchOne(m, v))));
  }
  return alternatives.some((m) => matchOne(m, value));
}

function matchObject(pattern: Record<string, any>, event: unknown): boolean {
  // An array of objects in the event: the pattern matches if it matches one of them.
  if (Array.isArray(event)) return event.some((e) => matchObject(pattern, e));
  const fields = isObject(event) ? event : {};
  return Object.entries(pattern).every(([key, p]) => {
    if (key === '$or') return (p as Record<string, any>[]).some((alt) => matchObject(alt, event));
    return Array.isArray(p) ? matchLeaf(p, fields[key]) : matchObject(p, fields[key]);
  });
}

/** True when `event` matches `pattern` (a valid pattern: see `validatePattern`). */
export function matchesPattern(pattern: object, event: object): boolean {
  return matchObject(pattern as Record<string, any>, event);
}

// ---------------------------------------------------------------------------------------------
// Validation: the reasons PutRule gives in "Event pattern is not valid. Reason: …"

const NUMERIC_OPS = new Set(['<', '<=', '>', '>=', '=']);

function validateMatcher(m: unknown, path: string): string | undefined {
  if (!isObject(m)) {
    return m === null || ['string', 'number', 'boolean'].includes(typeof m) ? undefined : `Match value must be String, number, true, false, or null at ${path}`;
  }
  const keys = Object.keys(m);
  if (keys.length !== 1) return `Only one key allowed in match expression at ${path}`;
  const [op] = keys;
  const spec = (m as any)[op];
  const ignoreCase = (s: unknown) => isObject(s) && Object.keys(s).length === 1 && typeof s['equals-ignore-case'] === 'string';
  switch (op) {
    case 'exists':
      return typeof spec === 'boolean' ? undefined : `exists match pattern must be either true or false. at ${path}`;
    case 'prefix':
    case 'suffix':
      return typeof spec === 'string' || ignoreCase(spec) ? undefined : `${op} match pattern must be a string at ${path}`;
    case 'equals-ignore-case':
    case 'wildcard':
      return typeof spec === 'string' ? undefined : `${op} match pattern must be a string at ${path}`;
    case 'numeric': {
      if (!Array.isArray(spec) || spec.length === 0 || spec.length > 4 || spec.length % 2)
        return `Value of numeric must be an array of 2 or 4 elements at ${path}`;
      for (let i = 0; i < spec.length; i += 2) {
        if (!NUMERIC_OPS.has(spec[i])) return `Unrecognized numeric range operator: ${spec[i]} at ${path}`;
        if (typeof spec[i + 1] !== 'number') return `Value of ${spec[i]} must be numeric at ${path}`;
      }
      if (spec.length === 4 && (spec[0] === '=' || spec[2] === '=' || spec[0][0] === spec[2][0])) return `Bad numeric range operator at ${path}`;
      return undefined;
    }
    case 'anything-but': {
      if (isObject(spec)) {
        const [inner, v] = Object.entries(spec)[0] ?? [];
        if (Object.keys(spec).length !== 1 || !['prefix', 'suffix', 'equals-ignore-case', 'wildcard'].includes(inner!)) {
          return `Unsupported anything-but pattern: ${Object.keys(spec).join(', ')} at ${path}`;
        }
        const ok = typeof v === 'string' || (['equals-ignore-case', 'wildcard'].includes(inner!) && Array.isArray(v) && v.every((x) => typeof x === 'string'));
        return ok ? undefined : `Value of anything-but/${inner} must be a string at ${path}`;
      }
      const values = [spec].flat();
      const sameType = values.every((x) => typeof x === 'string') || values.every((x) => typeof x === 'number');
      return values.length && sameType ? undefined : `Inside anything but list, start|null|boolean is not supported. at ${path}`;
    }
    default:
      return `Unrecognized match type ${op} at ${path}`;
  }
}

function validateObject(pattern: unknown, path: string): string | undefined {
  if (!isObject(pattern)) return `Filter is not an object at ${path}`;
  for (const [key, value] of Object.entries(pattern)) {
    const at = `${path}.${key}`;
    if (key === '$or') {
      if (!Array.isArray(value) || value.length < 2) return `Or relationship field must be an array of at least 2 objects at ${at}`;
      for (const [i, alt] of value.entries()) {
        const problem = validateObject(alt, `${at}[${i}]`);
        if (problem) return problem;
      }
      continue;
    }
    if (Array.isArray(value)) {
      if (!value.length) return `Empty arrays are not allowed at ${at}`;
      for (const m of value) {
        const problem = validateMatcher(m, at);
        if (problem) return problem;
      }
      continue;
    }
    if (!isObject(value)) return `"${key}" must be an object or an array at ${at}`;
    const problem = validateObject(value, at);
    if (problem) return problem;
  }
  return undefined;
}

/** The reason AWS would give for refusing this pattern, or `undefined` when it is valid. */
export function validatePattern(pattern: unknown): string | undefined {
  return validateObject(pattern, '$');
}
