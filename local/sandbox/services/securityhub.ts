/**
 * Security Hub (securityhub 2018-10-26, REST-JSON): the findings an account's own products import
 * (BatchImportFindings, `POST /findings/import`) and read back (GetFindings, `POST /findings`), kept in the
 * state like any account resource. A finding is identified by its ProductArn and Id; importing one again
 * updates it when its UpdatedAt is later. The hub is always enabled (no EnableSecurityHub), and the only
 * product is each account's own default product (`product/<account>/default`). Sources and what is assumed:
 * docs/sandbox.md ("Security Hub").
 */
import { AwsError } from '../errors';
import type { RestRoute } from '../protocols/rest-json';
import type { RequestContext, Sandbox, Service } from '../sandbox';
import type { SandboxState, SecurityHubFinding } from '../state';

export const securityHubRoutes: RestRoute[] = [
  { operation: 'BatchImportFindings', method: 'POST', path: '/findings/import' },
  { operation: 'GetFindings', method: 'POST', path: '/findings' },
];

/** [BIF]: at most 100 findings per call, 240 KB per finding, 6 MB per call. */
export const MAX_FINDINGS_PER_CALL = 100;
const MAX_FINDING_BYTES = 240 * 1024;
const MAX_CALL_BYTES = 6 * 1024 * 1024;
/** ASFF's required top-level attributes [ASFF]. */
export const REQUIRED_ATTRIBUTES = [
  'AwsAccountId',
  'CreatedAt',
  'Description',
  'GeneratorId',
  'Id',
  'ProductArn',
  'Resources',
  'SchemaVersion',
  'Severity',
  'Title',
  'Types',
  'UpdatedAt',
] as const;
/** What the importer cannot change once a finding exists: customers' workflow fields [BIF]. */
const CUSTOMER_FIELDS = ['Note', 'UserDefinedFields', 'VerificationState', 'Workflow', 'WorkflowState'] as const;
const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})$/;

const invalidInput = (message: string) => new AwsError('InvalidInputException', message, 400);

export function securityHubState(sandbox: Sandbox): NonNullable<SandboxState['securityhub']> {
  return (sandbox.state.securityhub ??= { findings: {} });
}

const defaultProductArn = (sandbox: Sandbox, account: string) => `arn:aws:securityhub:${sandbox.region}:${account}:product/${account}/default`;
const hubArn = (sandbox: Sandbox) => `arn:aws:securityhub:${sandbox.region}:${sandbox.account}:hub/default`;
const keyOf = (productArn: string, id: string) => `${productArn} ${id}`;

/**
 * Security Hub's AccessDeniedException is 403 (its model says so; the sandbox's shared wording otherwise),
 * the resource being the product the findings are imported for, or the hub for reads.
 */
function authorize(ctx: RequestContext, action: string, resource: string, resourceAccount = ctx.sandbox.account): void {
  const result = ctx.sandbox.evaluate(ctx.caller, action, resource, { resourceAccount });
  if (result.decision === 'Allowed') return;
  const denied = ctx.sandbox.accessDenied('securityhub', ctx.caller.arn, action, resource, result);
  throw new AwsError(denied.code, denied.message, 403);
}

/** Why one finding cannot be imported (a FailedFinding), or undefined when it can. */
function problemOf(sandbox: Sandbox, f: Record<string, unknown>): { code: string; message: string } | undefined {
  const missing = REQUIRED_ATTRIBUTES.filter((a) => f[a] === undefined || f[a] === null || f[a] === '');
  if (missing.length)
    return {
      code: 'InvalidInput',
      message: `Finding does not adhere to Amazon Finding Format. ${missing.map((a) => `data should have required property '${a}'`).join(', ')}.`,
    };
  if (Buffer.byteLength(JSON.stringify(f)) > MAX_FINDING_BYTES)
    return { code: 'InvalidInput', message: `Finding does not adhere to Amazon Finding Format. The finding is larger than ${MAX_FINDING_BYTES} bytes.` };
  for (const a of ['CreatedAt', 'UpdatedAt'] as const)
    if (typeof f[a] !== 'string' || !ISO_8601.test(f[a] as string) || Number.isNaN(Date.parse(f[a] as string)))
      return { code: 'InvalidInput', message: `Finding does not adhere to Amazon Finding Format. data.${a} should match format "date-time".` };
  if (!Array.isArray(f.Resources) || f.Resources.length === 0 || f.Resources.length > 32)
    return { code: 'InvalidInput', message: 'Finding does not adhere to Amazon Finding Format. data.Resources should have between 1 and 32 items.' };
  if (!Array.isArray(f.Types) || f.Types.length === 0)
    return { code: 'InvalidInput', message: 'Finding does not adhere to Amazon Finding Format. data.Types should NOT have fewer than 1 items.' };
  // Only the account's own default product is known here: a partner product's integration is never enabled.
  if (f.ProductArn !== defaultProductArn(sandbox, sandbox.account))
    return { code: 'InvalidAccess', message: `The product ${String(f.ProductArn)} is not enabled for account ${sandbox.account} in ${sandbox.region}.` };
  return undefined;
}

type StringFilter = { Value?: string; Comparison?: string };

/** The GetFindings filters the sandbox evaluates, each by how it reads a finding. */
const FILTER_FIELDS: Record<string, (f: SecurityHubFinding) => (string | undefined)[]> = {
  Id: (f) => [f.Id as string],
  ProductArn: (f) => [f.ProductArn as string],
  GeneratorId: (f) => [f.GeneratorId as string],
  AwsAccountId: (f) => [f.AwsAccountId as string],
  RecordState: (f) => [f.RecordState as string],
  Title: (f) => [f.Title as string],
  SeverityLabel: (f) => [(f.Severity as { Label?: string } | undefined)?.Label],
  ComplianceStatus: (f) => [(f.Compliance as { Status?: string } | undefined)?.Status],
  WorkflowStatus: (f) => [(f.Workflow as { Status?: string } | undefined)?.Status],
  ResourceId: (f) => ((f.Resources as { Id?: string }[] | undefined) ?? []).map((r) => r.Id),
  ResourceType: (f) => ((f.Resources as { Type?: string }[] | undefined) ?? []).map((r) => r.Type),
};
const COMPARISONS = ['EQUALS', 'PREFIX', 'NOT_EQUALS', 'PREFIX_NOT_EQUALS', 'CONTAINS', 'NOT_CONTAINS'];

const compare = (value: string | undefined, filter: StringFilter): boolean => {
  const v = value ?? '';
  const want = String(filter.Value ?? '');
  switch (filter.Comparison) {
    case 'EQUALS':
      return v === want;
    case 'PREFIX':
      return v.startsWith(want);
    case 'CONTAINS':
      return v.includes(want);
    case 'NOT_EQUALS':
      return v !== want;
    case 'PREFIX_NOT_EQUALS':
      return !v.startsWith(want);
    default:
      return !v.includes(want); // NOT_CONTAINS
  }
};

/** Positive comparisons of one field are OR'd, negative ones AND'd, fields AND'd (GetFindings reference). */
function matches(f: SecurityHubFinding, filters: Record<string, StringFilter[]>): boolean {
  return Object.entries(filters).every(([field, list]) => {
    const values = FILTER_FIELDS[field](f);
    const positive = list.filter((x) => ['EQUALS', 'PREFIX', 'CONTAINS'].includes(x.Comparison ?? ''));
    const negative = list.filter((x) => !positive.includes(x));
    return (!positive.length || positive.some((x) => values.some((v) => compare(v, x)))) && negative.every((x) => values.every((v) => compare(v, x)));
  });
}

function checkFilters(input: unknown): Record<string, StringFilter[]> {
  if (input === undefined || input === null) return {};
  if (typeof input !== 'object' || Array.isArray(input)) throw invalidInput("Invalid parameter 'Filters'. It must be an object.");
  const out: Record<string, StringFilter[]> = {};
  for (const [field, list] of Object.entries(input as Record<string, unknown>)) {
    if (!Object.hasOwn(FILTER_FIELDS, field))
      throw invalidInput(`Invalid parameter 'Filters'. The sandbox does not evaluate the filter ${field} (it does ${Object.keys(FILTER_FIELDS).join(', ')}).`);
    if (!Array.isArray(list)) throw invalidInput(`Invalid parameter 'Filters.${field}'. It must be a list of string filters.`);
    for (const x of list as StringFilter[])
      if (!COMPARISONS.includes(x?.Comparison ?? ''))
        throw invalidInput(`Invalid parameter 'Filters.${field}.Comparison'. It must be one of ${COMPARISONS.join(', ')}.`);
    out[field] = list as StringFilter[];
  }
  return out;
}

export const securityHubService: Service = {
  name: 'securityhub',
  protocol: 'rest-json',
  routes: securityHubRoutes,
  readOnly: new Set(['GetFindings']),
  operations: {
    BatchImportFindings: (input, ctx) => {
      const { sandbox } = ctx;
      const findings = input.Findings;
      if (!Array.isArray(findings)) throw invalidInput("Invalid parameter 'Findings'. It is required and must be a list.");
      if (findings.length > MAX_FINDINGS_PER_CALL)
        throw invalidInput(`Invalid parameter 'Findings'. Size '${findings.length}' is greater than maximum value: ${MAX_FINDINGS_PER_CALL}.`);
      if (Buffer.byteLength(JSON.stringify(findings)) > MAX_CALL_BYTES)
        throw invalidInput(`Invalid parameter 'Findings'. The request is larger than ${MAX_CALL_BYTES} bytes.`);
      // The call is authorized for each product it imports into; a finding of another account is refused as
      // a whole call (AWS Support, in prowler-cloud/prowler#867), not as a FailedFinding.
      const resources = new Map<string, string>();
      for (const f of findings) {
        const account = typeof f?.AwsAccountId === 'string' ? f.AwsAccountId : undefined;
        const product = typeof f?.ProductArn === 'string' ? f.ProductArn : undefined;
        const productAccount = product && /^arn:aws[a-z-]*:securityhub:[^:]*:(\d{12})?:product\//.exec(product)?.[1];
        if (product) resources.set(product, productAccount || sandbox.account);
        if (account && account !== ctx.caller.account) resources.set(defaultProductArn(sandbox, account), account);
      }
      for (const [resource, account] of resources) authorize(ctx, 'securityhub:BatchImportFindings', resource, account);
      const state = securityHubState(sandbox);
      const now = sandbox.clock.date().toISOString();
      const FailedFindings: { Id: string; ErrorCode: string; ErrorMessage: string }[] = [];
      let SuccessCount = 0;
      for (const raw of findings) {
        const f = (typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? raw : {}) as Record<string, unknown>;
        const problem = problemOf(sandbox, f);
        if (problem) {
          FailedFindings.push({ Id: typeof f.Id === 'string' ? f.Id : '', ErrorCode: problem.code, ErrorMessage: problem.message });
          continue;
        }
        SuccessCount++;
        const key = keyOf(f.ProductArn as string, f.Id as string);
        const existing = state.findings[key];
        // An update whose UpdatedAt is not later than the finding's is not applied.
        if (existing && Date.parse(f.UpdatedAt as string) <= Date.parse(existing.UpdatedAt as string)) continue;
        const kept = existing ? Object.fromEntries(CUSTOMER_FIELDS.filter((k) => existing[k] !== undefined).map((k) => [k, existing[k]])) : {};
        state.findings[key] = {
          RecordState: 'ACTIVE',
          Workflow: { Status: 'NEW' },
          WorkflowState: 'NEW',
          ...(f as SecurityHubFinding),
          ...kept,
          Region: sandbox.region,
          ProcessedAt: now,
        };
      }
      return { FailedCount: FailedFindings.length, SuccessCount, FailedFindings };
    },
    GetFindings: (input, ctx) => {
      authorize(ctx, 'securityhub:GetFindings', hubArn(ctx.sandbox));
      const filters = checkFilters(input.Filters);
      const max = input.MaxResults === undefined ? 100 : Number(input.MaxResults);
      if (!Number.isInteger(max) || max < 1 || max > 100) throw invalidInput("Invalid parameter 'MaxResults'. It must be between 1 and 100.");
      const start = input.NextToken === undefined || input.NextToken === '' ? 0 : Number(Buffer.from(String(input.NextToken), 'base64').toString('utf8'));
      if (!Number.isInteger(start) || start < 0) throw invalidInput("Invalid parameter 'NextToken'. It is not a token GetFindings returned.");
      const all = Object.values(securityHubState(ctx.sandbox).findings).filter((f) => matches(f, filters));
      const page = all.slice(start, start + max);
      return {
        Findings: structuredClone(page),
        ...(start + max < all.length && { NextToken: Buffer.from(String(start + max)).toString('base64') }),
      };
    },
  },
};
