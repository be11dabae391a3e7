/**
 * KMS (JSON 1.1, `TrentService.*`): keys, key policies, aliases, rotation, tags, grants, and real
 * AES-256-GCM Encrypt/Decrypt/GenerateDataKey with per-key material kept in state.
 *
 * Authorization follows KMS: every key operation is evaluated against the key policy, and identity
 * policies count only where the key policy delegates to the account (the evaluator models this);
 * grants add access for their grantee. Key policies are validated as AWS does (facts §2 step 4,
 * [KMS-PKP]): every named role must exist and be visible, and the lockout safety check applies.
 * Resource quotas (keys, aliases and grants per key, on-demand rotations) come from `sandbox.quotas`.
 * KMS's own EventBridge events are sent as AWS documents them [KMS-EV]: `KMS CMK Rotation` on every
 * rotation and `KMS CMK Deletion` when a key's waiting period ends.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes, randomUUID } from 'node:crypto';
import { AwsError } from '../errors';
import { findRole, resolveKey } from '../lookup';
import { epochSeconds } from '../protocols/json';
import { validatePolicy } from '../authz';
import { emitEvent } from './eventbridge';
import type { Principal, Sandbox, Service } from '../sandbox';
import type { Alias, Grant, Key, PolicyDocument } from '../state';

type Context = Record<string, string | string[]>;

/** Who calls and with which extra request context (e.g. `kms:ViaService` when another service calls for you). */
interface Call {
  sandbox: Sandbox;
  caller: Principal | string;
  extra: Context;
}

type Op = (input: any, call: Call) => unknown;

const DAY_MS = 24 * 60 * 60 * 1000;
/** Tags per key [KMS tagging docs]. */
const MAX_TAGS = 50;
const INVALID_PRINCIPALS = 'Policy contains a statement with one or more invalid principals.';
const LOCKOUT = 'The new key policy will not allow you to update the key policy in the future.';
const GRANT_OPERATIONS = [
  'CreateGrant',
  'Decapsulate',
  'Decrypt',
  'DeriveSharedSecret',
  'DescribeKey',
  'Encapsulate',
  'Encrypt',
  'GenerateDataKey',
  'GenerateDataKeyPair',
  'GenerateDataKeyPairWithoutPlaintext',
  'GenerateDataKeyWithoutPlaintext',
  'GenerateMac',
  'GetPublicKey',
  'ReEncryptFrom',
  'ReEncryptTo',
  'RetireGrant',
  'Sign',
  'Verify',
  'VerifyMac',
];
/** Key specs and the key usages each allows; the first is the default where AWS has one. */
const KEY_USAGES: Record<string, string[]> = {
  SYMMETRIC_DEFAULT: ['ENCRYPT_DECRYPT'],
  RSA_2048: ['ENCRYPT_DECRYPT', 'SIGN_VERIFY'],
  RSA_3072: ['ENCRYPT_DECRYPT', 'SIGN_VERIFY'],
  RSA_4096: ['ENCRYPT_DECRYPT', 'SIGN_VERIFY'],
  ECC_NIST_P256: ['SIGN_VERIFY', 'KEY_AGREEMENT'],
  ECC_NIST_P384: ['SIGN_VERIFY', 'KEY_AGREEMENT'],
  ECC_NIST_P521: ['SIGN_VERIFY', 'KEY_AGREEMENT'],
  ECC_SECG_P256K1: ['SIGN_VERIFY'],
  ECC_NIST_EDWARDS25519: ['SIGN_VERIFY'],
  HMAC_224: ['GENERATE_VERIFY_MAC'],
  HMAC_256: ['GENERATE_VERIFY_MAC'],
  HMAC_384: ['GENERATE_VERIFY_MAC'],
  HMAC_512: ['GENERATE_VERIFY_MAC'],
  SM2: ['ENCRYPT_DECRYPT', 'SIGN_VERIFY', 'KEY_AGREEMENT'],
  ML_DSA_44: ['SIGN_VERIFY'],
  ML_DSA_65: ['SIGN_VERIFY'],
  ML_DSA_87: ['SIGN_VERIFY'],
  ML_KEM_512: ['ENCAPSULATE_DECAPSULATE'],
  ML_KEM_768: ['ENCAPSULATE_DECAPSULATE'],
  ML_KEM_1024: ['ENCAPSULATE_DECAPSULATE'],
};

// ---------------------------------------------------------------------------------------------
// errors and input validation

const kmsError = (code: string, message: string) => new AwsError(code, message, 400);
const validation = (message: string) => kmsError('ValidationException', message);
const constraint = (value: unknown, field: string, rule: string) =>
  validation(`1 validation error detected: Value '${value}' at '${field}' failed to satisfy constraint: ${rule}`);

function required(input: any, name: string): string {
  const v = input[name];
  if (v === undefined || v === null || v === '') {
    throw validation(
      `1 validation error detected: Value null at '${name[0].toLowerCase()}${name.slice(1)}' failed to satisfy constraint: Member must not be null`,
    );
  }
  return String(v);
}

function intInRange(value: unknown, field: string, min: number, max: number, fallback: number): number {
  if (value === undefined || value === null) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw constraint(value, field, `Member must have value greater than or equal to ${min}`);
  if (n > max) throw constraint(value, field, `Member must have value less than or equal to ${max}`);
  return n;
}

function stringMap(value: unknown, field: string): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value) || Object.values(value).some((v) => typeof v !== 'string')) {
    throw validation(`${field} must be a map of strings to strings`);
  }
  return value as Record<string, string>;
}

function base64Input(value: unknown, field: string, max: number): Buffer {
  const buf = typeof value === 'string' ? Buffer.from(value, 'base64') : Buffer.alloc(0);
  if (buf.length < 1) throw constraint('null', field, 'Member must have length greater than or equal to 1');
  if (buf.length > max)
    throw validation(`1 validation error detected: Value at '${field}' failed to satisfy constraint: Member must have length less than or equal to ${max}`);
  return buf;
}

/** The TagException checks in the order AWS answers them [recorded against AWS by LocalStack]. */
function validateTags(tags: unknown): { TagKey: string; TagValue: string }[] {
  if (tags === undefined || tags === null) return [];
  if (!Array.isArray(tags)) throw validation('Tags must be a list');
  if (new Set(tags.map((t: any) => t?.TagKey)).size < tags.length) throw kmsError('TagException', 'Duplicate tag keys');
  if (tags.length > MAX_TAGS) throw kmsError('TagException', 'Too many tags');
  return tags.map((t: any, i) => {
    const TagKey = String(t?.TagKey ?? '');
    const TagValue = String(t?.TagValue ?? '');
    if (TagKey.length < 1 || TagKey.length > 128) throw constraint(TagKey, `tags.${i + 1}.member.tagKey`, 'Member must have length less than or equal to 128');
    if (TagValue.length > 256) throw constraint(TagValue, `tags.${i + 1}.member.tagValue`, 'Member must have length less than or equal to 256');
    if (TagKey.toLowerCase().startsWith('aws:')) throw kmsError('TagException', 'Tags beginning with aws: are reserved');
    return { TagKey, TagValue };
  });
}

/** List pagination with an opaque marker (a position), `Truncated` always present as in AWS. */
function paginate<T>(items: T[], input: any, defaultLimit: number, maxLimit: number, listName: string): Record<string, unknown> {
  const limit = intInRange(input.Limit, 'limit', 1, maxLimit, defaultLimit);
  let start = 0;
  if (input.Marker !== undefined) {
    start = Number(Buffer.from(String(input.Marker), 'base64url').toString('utf8'));
    if (!Number.isInteger(start) || start < 0) throw kmsError('InvalidMarkerException', 'Invalid marker');
  }
  const end = start + limit;
  const truncated = end < items.length;
  return { [listName]: items.slice(start, end), ...(truncated ? { NextMarker: Buffer.from(String(end)).toString('base64url') } : {}), Truncated: truncated };
}

// ---------------------------------------------------------------------------------------------
// keys: lookup, state, metadata

const keyArnOf = (sandbox: Sandbox, keyId: string) => `arn:aws:kms:${sandbox.region}:${sandbox.account}:key/${keyId}`;
const aliasArnOf = (sandbox: Sandbox, aliasName: string) => `arn:aws:kms:${sandbox.region}:${sandbox.account}:${aliasName}`;
const KEY_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const isAliasRef = (ref: string) => ref.startsWith('alias/') || /^arn:[^:]*:kms:[^:]*:[^:]*:alias\//.test(ref);

/**
 * The key a `KeyId` names. `allowAlias` is false for the operations AWS documents as taking a key id
 * or key ARN only. Errors are KMS's NotFoundException wordings.
 */
function findKey(call: Call, ref: string, allowAlias: boolean): Key {
  const { sandbox } = call;
  if (isAliasRef(ref)) {
    // Operations that take a key id or key ARN only do not resolve aliases (assumed wording).
    if (!allowAlias) throw kmsError('NotFoundException', `Invalid keyId '${ref}'`);
    const key = resolveKey(sandbox.state, ref);
    if (!key) throw kmsError('NotFoundException', `Alias ${ref.startsWith('arn:') ? ref : aliasArnOf(sandbox, ref)} is not found.`);
    return key;
  }
  const key = resolveKey(sandbox.state, ref);
  if (key) return key;
  if (ref.startsWith('arn:')) throw kmsError('NotFoundException', `Key '${ref}' does not exist`);
  if (!KEY_ID.test(ref)) throw kmsError('NotFoundException', `Invalid keyId '${ref}'`);
  throw kmsError('NotFoundException', `Key '${keyArnOf(sandbox, ref)}' does not exist`);
}

/** Key states as the KMS key-state table gives them for each operation. */
function requireState(key: Key, allowed: { disabled?: boolean; pendingDeletion?: boolean }): void {
  if (key.KeyState === 'Disabled' && !allowed.disabled) throw kmsError('DisabledException', `${key.Arn} is disabled.`);
  if (key.KeyState === 'PendingDeletion' && !allowed.pendingDeletion) throw kmsError('KMSInvalidStateException', `${key.Arn} is pending deletion.`);
}

const isSymmetric = (key: Key) => key.KeySpec === 'SYMMETRIC_DEFAULT';

function requireSymmetric(key: Key): void {
  if (!isSymmetric(key)) throw kmsError('UnsupportedOperationException', `${key.Arn} key spec ${key.KeySpec} is not supported for this operation.`);
}

const newMaterial = () => randomBytes(32).toString('base64');
/** Material ids are 64 hex characters, as AWS's `KeyMaterialId`. */
const materialId = (material: string) => createHash('sha256').update(material).digest('hex');

/** The key's material generations; created on first use for keys from older state files. */
function materialsOf(key: Key): string[] {
  key.KeyMaterial ??= [newMaterial()];
  while (key.KeyMaterial.length < key.Rotations.length + 1) key.KeyMaterial.push(newMaterial());
  return key.KeyMaterial;
}

function algorithmsOf(key: Key): Record<string, string[]> {
  const spec = key.KeySpec;
  if (spec === 'SYMMETRIC_DEFAULT') return { EncryptionAlgorithms: ['SYMMETRIC_DEFAULT'] };
  if (spec.startsWith('HMAC_')) return { MacAlgorithms: [`HMAC_SHA_${spec.slice(5)}`] };
  if (key.KeyUsage === 'KEY_AGREEMENT') return { KeyAgreementAlgorithms: ['ECDH'] };
  if (spec.startsWith('RSA_')) {
    return key.KeyUsage === 'ENCRYPT_DECRYPT'
      ? { EncryptionAlgorithms: ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256'] }
      : {
          SigningAlgorithms: [
            'RSASSA_PKCS1_V1_5_SHA_256',
            'RSASSA_PKCS1_V1_5_SHA_384',
            'RSASSA_PKCS1_V1_5_SHA_512',
            'RSASSA_PSS_SHA_256',
            'RSASSA_PSS_SHA_384',
            'RSASSA_PSS_SHA_512',
          ],
        };
  }
  if (spec.startsWith('ECC_NIST_P')) return { SigningAlgorithms: [`ECDSA_SHA_${spec === 'ECC_NIST_P256' ? 256 : spec === 'ECC_NIST_P384' ? 384 : 512}`] };
  if (spec === 'ECC_SECG_P256K1') return { SigningAlgorithms: ['ECDSA_SHA_256'] };
  if (spec === 'SM2') return key.KeyUsage === 'ENCRYPT_DECRYPT' ? { EncryptionAlgorithms: ['SM2PKE'] } : { SigningAlgorithms: ['SM2DSA'] };
  return {};
}

/** `KeyMetadata` exactly as DescribeKey/CreateKey return it (timestamps in epoch seconds). */
function keyMetadata(key: Key): Record<string, unknown> {
  return {
    AWSAccountId: key.AWSAccountId,
    KeyId: key.KeyId,
    Arn: key.Arn,
    CreationDate: epochSeconds(key.CreationDate),
    Enabled: key.KeyState === 'Enabled',
    Description: key.Description,
    KeyUsage: key.KeyUsage,
    KeyState: key.KeyState,
    DeletionDate: epochSeconds(key.DeletionDate),
    Origin: key.Origin,
    KeyManager: 'CUSTOMER',
    CustomerMasterKeySpec: key.KeySpec,
    KeySpec: key.KeySpec,
    ...algorithmsOf(key),
    MultiRegion: key.MultiRegion,
    PendingDeletionWindowInDays: key.PendingDeletionWindowInDays,
    CurrentKeyMaterialId: isSymmetric(key) ? materialId(materialsOf(key).at(-1)!) : undefined,
  };
}

const aliasesOf = (call: Call, key: Key): Alias[] => Object.values(call.sandbox.state.kms.aliases).filter((a) => a.TargetKeyId === key.KeyId);

// ---------------------------------------------------------------------------------------------
// key policies

const policyCache = new Map<string, PolicyDocument>();

/** The key policy as a document (parsed once per distinct policy text). Pure: for other sandbox services too. */
export function parsedKeyPolicy(key: Key): PolicyDocument {
  let doc = policyCache.get(key.Policy);
  if (!doc) {
    if (policyCache.size > 1000) policyCache.clear();
    doc = JSON.parse(key.Policy) as PolicyDocument;
    policyCache.set(key.Policy, doc);
  }
  return doc;
}

/** The policy KMS gives a key created without `Policy`: the account may use IAM policies for it [KMS default key policy]. */
function defaultKeyPolicy(sandbox: Sandbox): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Id: 'key-default-1',
    Statement: [
      { Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${sandbox.account}:root` }, Action: 'kms:*', Resource: '*' },
    ],
  });
}

/** Every `AWS` principal value of every statement (Principal and NotPrincipal). */
function awsPrincipals(doc: PolicyDocument): unknown[] {
  const statements = Array.isArray(doc.Statement) ? doc.Statement : [doc.Statement];
  return statements.flatMap((s: any) => [s?.Principal, s?.NotPrincipal].flatMap((p) => (p && typeof p === 'object' ? [p.AWS ?? []].flat() : [])));
}

/**
 * Whether KMS would accept this principal: `*`, account ids and account roots, and roles (or their
 * sessions) that exist in this account and have propagated (facts §2 step 4). The sandbox has no IAM
 * users and no other accounts' roles, so those are invalid, as a missing principal is in AWS.
 */
function isValidPrincipal(sandbox: Sandbox, value: unknown): boolean {
  if (typeof value !== 'string') return false;
  if (value === '*' || /^\d{12}$/.test(value) || /^arn:aws:iam::\d{12}:root$/.test(value)) return true;
  const session = /^arn:aws:sts::(\d{12}):assumed-role\/([\w+=,.@-]+)\/[\w+=,.@-]+$/.exec(value);
  const roleArn = session ? Object.values(sandbox.state.iam.roles).find((r) => r.RoleName === session[2] && session[1] === sandbox.account)?.Arn : value;
  return !!roleArn && !!findRole(sandbox.state, roleArn) && sandbox.isRoleVisible(roleArn);
}

/**
 * Validates a key policy as CreateKey and PutKeyPolicy do [KMS-PKP]: JSON and grammar, principals,
 * then (unless bypassed) the lockout safety check — the caller must be able to PutKeyPolicy under
 * the NEW policy. Returns the parsed document.
 */
function validateKeyPolicy(call: Call, key: Key, text: string, bypass: boolean, context: Context): PolicyDocument {
  if (text.length > 32768) throw constraint('policy', 'policy', 'Member must have length less than or equal to 32768');
  let doc: PolicyDocument;
  try {
    doc = JSON.parse(text);
  } catch {
    throw kmsError('MalformedPolicyDocumentException', 'The key policy is not valid JSON.');
  }
  const problems = validatePolicy(doc, 'resource');
  if (problems.length) throw kmsError('MalformedPolicyDocumentException', `The key policy is not valid: ${problems.join('; ')}`);
  if (!awsPrincipals(doc).every((p) => isValidPrincipal(call.sandbox, p))) throw kmsError('MalformedPolicyDocumentException', INVALID_PRINCIPALS);
  if (!bypass) {
    const result = call.sandbox.evaluate(call.caller, 'kms:PutKeyPolicy', key.Arn, { resourcePolicy: doc, context: keyContext(call, key, context) });
    if (result.decision !== 'Allowed') throw kmsError('MalformedPolicyDocumentException', LOCKOUT);
  }
  return doc;
}

// ---------------------------------------------------------------------------------------------
// authorization

/** Condition keys KMS adds for a request on a key, plus the operation's own. */
function keyContext(call: Call, key: Key, context: Context = {}): Context {
  const out: Context = {};
  if (typeof call.caller !== 'string') out['kms:CallerAccount'] = call.caller.account;
  for (const t of key.Tags) out[`aws:ResourceTag/${t.TagKey}`] = t.TagValue;
  const aliases = aliasesOf(call, key).map((a) => a.AliasName);
  if (aliases.length) out['kms:ResourceAliases'] = aliases;
  return { ...out, ...context, ...call.extra };
}

/** `kms:EncryptionContext:<k>` and `kms:EncryptionContextKeys` for a request's encryption context. */
function encryptionContextKeys(ec: Record<string, string>): Context {
  const out: Context = {};
  for (const [k, v] of Object.entries(ec)) out[`kms:EncryptionContext:${k}`] = v;
  if (Object.keys(ec).length) out['kms:EncryptionContextKeys'] = Object.keys(ec);
  return out;
}

const callerArns = (caller: Principal | string) => (typeof caller === 'string' ? [caller] : [caller.arn, caller.roleArn].filter((x): x is string => !!x));

/** A grant on the key that lets this caller do this operation with this encryption context. */
function grantAllows(call: Call, key: Key, operation: string, ec: Record<string, string> | undefined): boolean {
  const arns = callerArns(call.caller);
  return Object.values(call.sandbox.state.kms.grants).some((g) => {
    if (g.KeyId !== key.KeyId || !arns.includes(g.GranteePrincipal) || !g.Operations.includes(operation)) return false;
    const c = g.Constraints;
    if (c?.EncryptionContextEquals) {
      const want = c.EncryptionContextEquals;
      return !!ec && Object.keys(ec).length === Object.keys(want).length && Object.entries(want).every(([k, v]) => ec[k] === v);
    }
    if (c?.EncryptionContextSubset) return !!ec && Object.entries(c.EncryptionContextSubset).every(([k, v]) => ec[k] === v);
    return true;
  });
}

/**
 * Authorizes `kms:<operation>` on a key: key policy (with the KMS delegation rule) and identity
 * policies, then grants, which only add access — an explicit deny still wins.
 */
function authorizeKey(call: Call, operation: string, key: Key, context: Context = {}, ec?: Record<string, string>): void {
  const action = `kms:${operation}`;
  const result = call.sandbox.evaluate(call.caller, action, key.Arn, { resourcePolicy: parsedKeyPolicy(key), context: keyContext(call, key, context) });
  if (result.decision === 'Allowed') return;
  if (result.decision === 'ImplicitlyDenied' && grantAllows(call, key, operation, ec)) return;
  throw call.sandbox.accessDenied('kms', callerArns(call.caller)[0], action, key.Arn, result);
}

/** Operations whose resource is `*` in IAM (CreateKey, ListKeys, ListAliases): identity policies only. */
function authorizeIdentity(call: Call, action: string, resource: string, context: Context = {}): void {
  const base: Context = typeof call.caller === 'string' ? {} : { 'kms:CallerAccount': call.caller.account };
  call.sandbox.authorize('kms', call.caller, action, resource, { context: { ...base, ...context, ...call.extra } });
}

function dryRun(input: any): void {
  if (input.DryRun === true) throw kmsError('DryRunOperationException', 'The request would have succeeded, but the DryRun option is set.');
}

// ---------------------------------------------------------------------------------------------
// ciphertext: version | key id (36) | material generation (u16) | iv (12) | tag (16) | data
// The header and the canonical encryption context are the AAD, so a wrong context or a tampered
// blob fails authentication (InvalidCiphertextException), and Decrypt finds the key from the blob.

const HEADER = 1 + 36 + 2;
const canonical = (ec: Record<string, string>) => Buffer.from(JSON.stringify(Object.entries(ec).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))));

function seal(key: Key, plaintext: Buffer, ec: Record<string, string>): { blob: Buffer; material: string } {
  const materials = materialsOf(key);
  const generation = materials.length - 1;
  const header = Buffer.alloc(HEADER);
  header[0] = 1;
  header.write(key.KeyId, 1, 'ascii');
  header.writeUInt16BE(generation, 37);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', Buffer.from(materials[generation], 'base64'), iv);
  cipher.setAAD(Buffer.concat([header, canonical(ec)]));
  const data = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { blob: Buffer.concat([header, iv, cipher.getAuthTag(), data]), material: materials[generation] };
}

/** The key id a ciphertext blob names, or undefined when it is not one of ours. */
function blobKeyId(blob: Buffer): string | undefined {
  const id = blob.length > HEADER + 28 && blob[0] === 1 ? blob.subarray(1, 37).toString('ascii') : '';
  return KEY_ID.test(id) ? id : undefined;
}

function open(key: Key, blob: Buffer, ec: Record<string, string>): { plaintext: Buffer; material: string } {
  const invalid = () => kmsError('InvalidCiphertextException', '');
  const materials = materialsOf(key);
  const generation = blob.readUInt16BE(37);
  if (generation >= materials.length) throw invalid();
  try {
    const decipher = createDecipheriv('aes-256-gcm', Buffer.from(materials[generation], 'base64'), blob.subarray(HEADER, HEADER + 12));
    decipher.setAAD(Buffer.concat([blob.subarray(0, HEADER), canonical(ec)]));
    decipher.setAuthTag(blob.subarray(HEADER + 12, HEADER + 28));
    return { plaintext: Buffer.concat([decipher.update(blob.subarray(HEADER + 28)), decipher.final()]), material: materials[generation] };
  } catch {
    throw invalid();
  }
}

/** Symmetric encryption keys only, enabled, for the cryptographic operations. */
function requireCryptoKey(key: Key, operation: string): void {
  requireState(key, {});
  if (key.KeyUsage !== 'ENCRYPT_DECRYPT')
    throw kmsError('InvalidKeyUsageException', `${key.Arn} key usage is ${key.KeyUsage} which is not valid for ${operation}.`);
  if (!isSymmetric(key)) throw kmsError('UnsupportedOperationException', `${operation} with an asymmetric KMS key is not emulated by this sandbox.`);
}

function requireSymmetricAlgorithm(key: Key, algorithm: unknown): string {
  const a = algorithm === undefined ? 'SYMMETRIC_DEFAULT' : String(algorithm);
  if (a !== 'SYMMETRIC_DEFAULT') throw kmsError('InvalidKeyUsageException', `Algorithm ${a} is incompatible with key spec ${key.KeySpec}.`);
  return a;
}

/** Shared by Encrypt-side operations: resolve (aliases allowed), authorize with the context, check state. */
function cryptoKey(call: Call, input: any, operation: string): { key: Key; ec: Record<string, string> } {
  const ref = required(input, 'KeyId');
  const ec = stringMap(input.EncryptionContext, 'EncryptionContext');
  const key = findKey(call, ref, true);
  const context: Context = { ...encryptionContextKeys(ec), ...(isAliasRef(ref) ? { 'kms:RequestAlias': aliasNameOf(ref) } : {}) };
  if (operation === 'Encrypt') context['kms:EncryptionAlgorithm'] = String(input.EncryptionAlgorithm ?? 'SYMMETRIC_DEFAULT');
  authorizeKey(call, operation, key, context, ec);
  requireCryptoKey(key, operation);
  dryRun(input);
  return { key, ec };
}

const aliasNameOf = (ref: string) => (ref.startsWith('arn:') ? ref.slice(ref.indexOf(':alias/') + 1) : ref);

function generateDataKey(call: Call, input: any, operation: string): { CiphertextBlob: string; Plaintext: Buffer; KeyId: string; KeyMaterialId: string } {
  const spec = input.KeySpec;
  const bytes = input.NumberOfBytes;
  if ((spec === undefined) === (bytes === undefined)) throw validation('Please specify either number of bytes or key spec.');
  if (spec !== undefined && spec !== 'AES_256' && spec !== 'AES_128')
    throw constraint(spec, 'keySpec', 'Member must satisfy enum value set: [AES_256, AES_128]');
  const length = spec === undefined ? intInRange(bytes, 'numberOfBytes', 1, 1024, 32) : spec === 'AES_256' ? 32 : 16;
  const { key, ec } = cryptoKey(call, input, operation);
  const plaintext = randomBytes(length);
  const { blob, material } = seal(key, plaintext, ec);
  return { CiphertextBlob: blob.toString('base64'), Plaintext: plaintext, KeyId: key.Arn, KeyMaterialId: materialId(material) };
}

// ---------------------------------------------------------------------------------------------
// operations

function createKey(input: any, call: Call) {
  const { sandbox } = call;
  const spec = String(input.KeySpec ?? input.CustomerMasterKeySpec ?? 'SYMMETRIC_DEFAULT');
  if (!KEY_USAGES[spec]) throw constraint(spec, 'keySpec', `Member must satisfy enum value set: [${Object.keys(KEY_USAGES).join(', ')}]`);
  const usage = String(input.KeyUsage ?? 'ENCRYPT_DECRYPT');
  if (!KEY_USAGES[spec].includes(usage)) throw validation(`KeyUsage ${usage} is not compatible with KeySpec ${spec}`);
  const origin = String(input.Origin ?? 'AWS_KMS');
  if (origin !== 'AWS_KMS' || input.CustomKeyStoreId || input.XksKeyId)
    throw kmsError('UnsupportedOperationException', `Origin ${origin} and custom key stores are not emulated by this sandbox.`);
  if (input.MultiRegion === true) throw kmsError('UnsupportedOperationException', 'Multi-Region keys are not emulated by this sandbox.');
  const description = String(input.Description ?? '');
  if (description.length > 8192) throw constraint(description, 'description', 'Member must have length less than or equal to 8192');
  const tags = validateTags(input.Tags);
  const bypass = input.BypassPolicyLockoutSafetyCheck === true;
  const context: Context = {
    'kms:KeySpec': spec,
    'kms:KeyUsage': usage,
    'kms:KeyOrigin': origin,
    'kms:MultiRegion': 'false',
    'kms:BypassPolicyLockoutSafetyCheck': String(bypass),
  };
  for (const t of tags) context[`aws:RequestTag/${t.TagKey}`] = t.TagValue;
  if (tags.length) context['aws:TagKeys'] = tags.map((t) => t.TagKey);
  authorizeIdentity(call, 'kms:CreateKey', '*', context);
  // Every customer managed key counts, whatever its state [KMS-RQ].
  sandbox.quotas.assertWithin('kms', 'KeysPerRegion', Object.keys(sandbox.state.kms.keys).length);

  const keyId = randomUUID();
  const now = sandbox.clock.now();
  const key: Key = {
    KeyId: keyId,
    Arn: keyArnOf(sandbox, keyId),
    AWSAccountId: sandbox.account,
    Region: sandbox.region,
    CreationDate: now,
    Description: description,
    KeyState: 'Enabled',
    KeySpec: spec,
    KeyUsage: usage,
    Origin: 'AWS_KMS',
    MultiRegion: false,
    Policy: input.Policy === undefined ? defaultKeyPolicy(sandbox) : String(input.Policy),
    Tags: tags,
    RotationEnabled: false,
    Rotations: [],
    ...(spec === 'SYMMETRIC_DEFAULT' ? { KeyMaterial: [newMaterial()] } : {}),
  };
  // AWS checks a policy you give; the default policy delegates to the account and needs no check.
  if (input.Policy !== undefined) validateKeyPolicy(call, key, key.Policy, bypass, {});
  sandbox.state.kms.keys[keyId] = key;
  return { KeyMetadata: keyMetadata(key) };
}

/** An operation on one key named by id or key ARN only, allowed in the given states, returning nothing. */
function keyOp(operation: string, states: { disabled?: boolean; pendingDeletion?: boolean }, apply: (key: Key, input: any, call: Call) => unknown): Op {
  return (input, call) => {
    const key = findKey(call, required(input, 'KeyId'), false);
    authorizeKey(call, operation, key);
    requireState(key, states);
    return apply(key, input, call) ?? {};
  };
}

const ANY_STATE = { disabled: true, pendingDeletion: true };

/** New key material, and KMS's `KMS CMK Rotation` event [KMS-EV] (its `rotation-type` for automatic rotation assumed). */
function rotate(sandbox: Sandbox, key: Key, type: 'ON_DEMAND' | 'AUTOMATIC', at: number): void {
  const materials = materialsOf(key);
  const previous = materials.at(-1)!;
  materials.push(newMaterial());
  key.Rotations.push({ RotationDate: at, RotationType: type });
  emitEvent(sandbox, {
    source: 'aws.kms',
    'detail-type': 'KMS CMK Rotation',
    time: eventTime(at),
    resources: [key.Arn],
    detail: {
      'key-id': key.KeyId,
      'key-origin': key.Origin,
      'rotation-type': type,
      'previous-key-material-id': materialId(previous),
      'current-key-material-id': materialId(materials.at(-1)!),
    },
  });
}

/** EventBridge event times: ISO 8601 without milliseconds. */
const eventTime = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** Aliases customers made for a key (all of them here: AWS managed aliases are not emulated). */
const aliasCount = (sandbox: Sandbox, key: Key) => Object.values(sandbox.state.kms.aliases).filter((a) => a.TargetKeyId === key.KeyId).length;

function checkAliasName(name: string): void {
  if (!name.startsWith('alias/')) {
    throw validation('Alias must start with the prefix "alias/". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html');
  }
  if (name.length > 256) throw constraint(name, 'aliasName', 'Member must have length less than or equal to 256');
  if (!/^[a-zA-Z0-9:/_-]+$/.test(name)) throw constraint(name, 'aliasName', 'Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$');
  if (name.includes(':')) throw validation(`${name} contains invalid characters for an alias`);
  // The alias/aws/ prefix is reserved for AWS managed keys [CreateAlias]; the error name is what AWS returns (assumed).
  if (name.startsWith('alias/aws/')) throw kmsError('NotAuthorizedException', '');
}

/** Alias operations need permission on the alias (identity policy) and on the key (key policy) [CreateAlias]. */
function authorizeAlias(call: Call, operation: string, aliasName: string, keys: Key[]): void {
  authorizeIdentity(call, `kms:${operation}`, aliasArnOf(call.sandbox, aliasName));
  for (const key of keys) authorizeKey(call, operation, key);
}

function grantEntry(call: Call, g: Grant) {
  return {
    KeyId: keyArnOf(call.sandbox, g.KeyId),
    GrantId: g.GrantId,
    Name: g.Name,
    CreationDate: epochSeconds(g.CreationDate),
    GranteePrincipal: g.GranteePrincipal,
    RetiringPrincipal: g.RetiringPrincipal,
    IssuingAccount: g.IssuingAccount,
    Operations: g.Operations,
    Constraints: g.Constraints,
  };
}

function findGrant(call: Call, key: Key, grantId: string): Grant {
  if (!/^[0-9a-f]{64}$/.test(grantId)) throw kmsError('InvalidGrantIdException', `Invalid grant ID ${grantId}`);
  const grant = call.sandbox.state.kms.grants[grantId];
  if (!grant || grant.KeyId !== key.KeyId) throw kmsError('NotFoundException', `Grant ID ${grantId} not found`);
  return grant;
}

const operations: Record<string, Op> = {
  CreateKey: createKey,

  DescribeKey: (input, call) => {
    const ref = required(input, 'KeyId');
    const key = findKey(call, ref, true);
    authorizeKey(call, 'DescribeKey', key, isAliasRef(ref) ? { 'kms:RequestAlias': aliasNameOf(ref) } : {});
    return { KeyMetadata: keyMetadata(key) };
  },

  ListKeys: (input, call) => {
    authorizeIdentity(call, 'kms:ListKeys', '*');
    const keys = Object.values(call.sandbox.state.kms.keys).map((k) => ({ KeyId: k.KeyId, KeyArn: k.Arn }));
    return paginate(keys, input, 100, 1000, 'Keys');
  },

  UpdateKeyDescription: keyOp('UpdateKeyDescription', { disabled: true }, (key, input) => {
    const d = String(input.Description ?? '');
    if (d.length > 8192) throw constraint(d, 'description', 'Member must have length less than or equal to 8192');
    key.Description = d;
  }),

  GetKeyPolicy: keyOp('GetKeyPolicy', ANY_STATE, (key, input) => {
    if ((input.PolicyName ?? 'default') !== 'default') throw kmsError('NotFoundException', 'No such policy exists');
    return { Policy: key.Policy, PolicyName: 'default' };
  }),

  ListKeyPolicies: keyOp('ListKeyPolicies', ANY_STATE, () => ({ PolicyNames: ['default'], Truncated: false })),

  PutKeyPolicy: (input, call) => {
    const key = findKey(call, required(input, 'KeyId'), false);
    const policy = required(input, 'Policy');
    const bypass = input.BypassPolicyLockoutSafetyCheck === true;
    const context = { 'kms:BypassPolicyLockoutSafetyCheck': String(bypass) };
    authorizeKey(call, 'PutKeyPolicy', key, context);
    if ((input.PolicyName ?? 'default') !== 'default') throw kmsError('UnsupportedOperationException', 'The only valid policy name is default.');
    validateKeyPolicy(call, key, policy, bypass, context);
    key.Policy = policy;
    return {};
  },

  EnableKey: keyOp('EnableKey', { disabled: true }, (key) => void (key.KeyState = 'Enabled')),
  DisableKey: keyOp('DisableKey', { disabled: true }, (key) => void (key.KeyState = 'Disabled')),

  ScheduleKeyDeletion: (input, call) => {
    const days = intInRange(input.PendingWindowInDays, 'pendingWindowInDays', 7, 30, 30);
    return keyOp('ScheduleKeyDeletion', { disabled: true }, (key) => {
      key.KeyState = 'PendingDeletion';
      key.DeletionDate = call.sandbox.clock.now() + days * DAY_MS;
      key.PendingDeletionWindowInDays = days;
      return { KeyId: key.Arn, DeletionDate: epochSeconds(key.DeletionDate), KeyState: key.KeyState, PendingWindowInDays: days };
    })(input, call);
  },

  CancelKeyDeletion: keyOp('CancelKeyDeletion', ANY_STATE, (key) => {
    if (key.KeyState !== 'PendingDeletion') throw kmsError('KMSInvalidStateException', `${key.Arn} is not pending deletion.`);
    // A key whose deletion is cancelled comes back Disabled, as in AWS [KMS-DEL].
    key.KeyState = 'Disabled';
    delete key.DeletionDate;
    delete key.PendingDeletionWindowInDays;
    return { KeyId: key.Arn };
  }),

  EnableKeyRotation: (input, call) => {
    const period = intInRange(input.RotationPeriodInDays, 'rotationPeriodInDays', 90, 2560, 365);
    return keyOp('EnableKeyRotation', {}, (key) => {
      requireSymmetric(key);
      key.RotationEnabled = true;
      key.RotationPeriodInDays = period;
      key.NextRotationDate = call.sandbox.clock.now() + period * DAY_MS;
    })(input, call);
  },

  DisableKeyRotation: keyOp('DisableKeyRotation', {}, (key) => {
    requireSymmetric(key);
    key.RotationEnabled = false;
    delete key.NextRotationDate;
  }),

  GetKeyRotationStatus: keyOp('GetKeyRotationStatus', ANY_STATE, (key) => {
    requireSymmetric(key);
    // A key pending deletion reports rotation as off, as AWS does.
    const on = key.RotationEnabled && key.KeyState !== 'PendingDeletion';
    return on
      ? { KeyId: key.KeyId, KeyRotationEnabled: true, RotationPeriodInDays: key.RotationPeriodInDays, NextRotationDate: epochSeconds(key.NextRotationDate) }
      : { KeyId: key.KeyId, KeyRotationEnabled: false };
  }),

  RotateKeyOnDemand: keyOp('RotateKeyOnDemand', {}, (key, _input, call) => {
    // AWS answers a key that cannot rotate on demand with an empty message.
    if (!isSymmetric(key)) throw kmsError('UnsupportedOperationException', '');
    const done = key.Rotations.filter((r) => r.RotationType === 'ON_DEMAND').length;
    call.sandbox.quotas.assertWithin('kms', 'OnDemandRotationsPerKey', done, 1, key.Arn);
    rotate(call.sandbox, key, 'ON_DEMAND', call.sandbox.clock.now());
    // The key ARN, as the API reference's example shows and AWS answers.
    return { KeyId: key.Arn };
  }),

  ListKeyRotations: keyOp('ListKeyRotations', ANY_STATE, (key, input) => {
    requireSymmetric(key);
    const materials = materialsOf(key);
    const rotations = key.Rotations.map((r, i) => ({
      KeyId: key.KeyId,
      KeyMaterialId: materialId(materials[i + 1]),
      KeyMaterialState: i + 1 === materials.length - 1 ? 'CURRENT' : 'NON_CURRENT',
      RotationDate: epochSeconds(r.RotationDate),
      RotationType: r.RotationType,
    }));
    return paginate(rotations, input, 100, 1000, 'Rotations');
  }),

  TagResource: keyOp('TagResource', { disabled: true }, (key, input) => {
    const tags = validateTags(input.Tags ?? []);
    const merged = [...key.Tags.filter((x) => !tags.some((t) => t.TagKey === x.TagKey)), ...tags];
    // Assumed: more than 50 in all is refused as a request with more than 50 is.
    if (merged.length > MAX_TAGS) throw kmsError('TagException', 'Too many tags');
    for (const t of tags) {
      const existing = key.Tags.find((x) => x.TagKey === t.TagKey);
      if (existing) existing.TagValue = t.TagValue;
      else key.Tags.push(t);
    }
  }),

  UntagResource: keyOp('UntagResource', { disabled: true }, (key, input) => {
    const keys = (Array.isArray(input.TagKeys) ? input.TagKeys : []).map(String);
    key.Tags = key.Tags.filter((t) => !keys.includes(t.TagKey));
  }),

  ListResourceTags: keyOp('ListResourceTags', ANY_STATE, (key, input) => paginate(key.Tags, input, 50, 50, 'Tags')),

  CreateAlias: (input, call) => {
    const name = required(input, 'AliasName');
    checkAliasName(name);
    const key = findKey(call, required(input, 'TargetKeyId'), false);
    authorizeAlias(call, 'CreateAlias', name, [key]);
    const aliases = call.sandbox.state.kms.aliases;
    if (aliases[name]) throw kmsError('AlreadyExistsException', `An alias with the name ${aliasArnOf(call.sandbox, name)} already exists`);
    requireState(key, { disabled: true });
    call.sandbox.quotas.assertWithin('kms', 'AliasesPerKey', aliasCount(call.sandbox, key));
    const now = call.sandbox.clock.now();
    aliases[name] = { AliasName: name, AliasArn: aliasArnOf(call.sandbox, name), TargetKeyId: key.KeyId, CreationDate: now, LastUpdatedDate: now };
    return {};
  },

  UpdateAlias: (input, call) => {
    const name = required(input, 'AliasName');
    checkAliasName(name);
    const target = findKey(call, required(input, 'TargetKeyId'), false);
    const alias = call.sandbox.state.kms.aliases[name];
    if (!alias) throw kmsError('NotFoundException', `Alias ${aliasArnOf(call.sandbox, name)} is not found.`);
    const current = call.sandbox.state.kms.keys[alias.TargetKeyId];
    authorizeAlias(call, 'UpdateAlias', name, current ? [current, target] : [target]);
    requireState(target, { disabled: true });
    if (target.KeyId !== alias.TargetKeyId) call.sandbox.quotas.assertWithin('kms', 'AliasesPerKey', aliasCount(call.sandbox, target));
    alias.TargetKeyId = target.KeyId;
    alias.LastUpdatedDate = call.sandbox.clock.now();
    return {};
  },

  DeleteAlias: (input, call) => {
    const name = required(input, 'AliasName');
    const alias = call.sandbox.state.kms.aliases[name];
    if (!alias) throw kmsError('NotFoundException', `Alias ${aliasArnOf(call.sandbox, name)} is not found.`);
    const key = call.sandbox.state.kms.keys[alias.TargetKeyId];
    authorizeAlias(call, 'DeleteAlias', name, key ? [key] : []);
    delete call.sandbox.state.kms.aliases[name];
    return {};
  },

  ListAliases: (input, call) => {
    authorizeIdentity(call, 'kms:ListAliases', '*');
    const key = input.KeyId === undefined ? undefined : findKey(call, String(input.KeyId), false);
    const aliases = Object.values(call.sandbox.state.kms.aliases)
      .filter((a) => !key || a.TargetKeyId === key.KeyId)
      .sort((a, b) => (a.AliasName < b.AliasName ? -1 : 1))
      .map((a) => ({ ...a, CreationDate: epochSeconds(a.CreationDate), LastUpdatedDate: epochSeconds(a.LastUpdatedDate) }));
    return paginate(aliases, input, 50, 100, 'Aliases');
  },

  CreateGrant: (input, call) => {
    const { sandbox } = call;
    const grantee = required(input, 'GranteePrincipal');
    const ops: unknown[] = Array.isArray(input.Operations) ? input.Operations : [];
    if (!ops.length) throw constraint('[]', 'operations', 'Member must have length greater than or equal to 1');
    const bad = ops.find((o) => !GRANT_OPERATIONS.includes(String(o)));
    if (bad !== undefined)
      throw constraint(
        `[${ops.join(', ')}]`,
        'operations',
        `Member must satisfy constraint: [Member must satisfy enum value set: [${GRANT_OPERATIONS.join(', ')}]]`,
      );
    const subset = input.Constraints?.EncryptionContextSubset;
    const equals = input.Constraints?.EncryptionContextEquals;
    if (subset && equals) throw validation('Only one of EncryptionContextSubset and EncryptionContextEquals may be specified.');
    const name = input.Name === undefined ? undefined : String(input.Name);
    if (name !== undefined && !/^[a-zA-Z0-9:/_-]{1,256}$/.test(name))
      throw constraint(name, 'name', 'Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$');
    const key = findKey(call, required(input, 'KeyId'), false);
    const constraints = subset
      ? { EncryptionContextSubset: stringMap(subset, 'EncryptionContextSubset') }
      : equals
        ? { EncryptionContextEquals: stringMap(equals, 'EncryptionContextEquals') }
        : undefined;
    const context: Context = {
      ...encryptionContextKeys(constraints?.EncryptionContextSubset ?? constraints?.EncryptionContextEquals ?? {}),
      'kms:GrantOperations': ops.map(String),
      'kms:GranteePrincipal': grantee,
      'kms:GrantIsForAWSResource': 'false',
      ...(constraints ? { 'kms:GrantConstraintType': Object.keys(constraints)[0] } : {}),
      ...(input.RetiringPrincipal ? { 'kms:RetiringPrincipal': String(input.RetiringPrincipal) } : {}),
    };
    authorizeKey(call, 'CreateGrant', key, context);
    requireState(key, {});
    dryRun(input);
    const token = randomBytes(96).toString('base64url');
    const fields = {
      KeyId: key.KeyId,
      Name: name,
      GranteePrincipal: grantee,
      RetiringPrincipal: input.RetiringPrincipal === undefined ? undefined : String(input.RetiringPrincipal),
      Operations: ops.map(String),
      Constraints: constraints,
    };
    // A named grant with the same parameters is not duplicated: AWS returns its GrantId again [CreateGrant].
    const shape = (g: Pick<Grant, 'KeyId' | 'Name' | 'GranteePrincipal' | 'RetiringPrincipal' | 'Operations' | 'Constraints'>) =>
      JSON.stringify([g.KeyId, g.Name, g.GranteePrincipal, g.RetiringPrincipal, g.Operations, g.Constraints]);
    const same = name === undefined ? undefined : Object.values(sandbox.state.kms.grants).find((g) => shape(g) === shape(fields));
    if (same) return { GrantId: same.GrantId, GrantToken: token };
    sandbox.quotas.assertWithin('kms', 'GrantsPerKey', Object.values(sandbox.state.kms.grants).filter((g) => g.KeyId === key.KeyId).length);
    const grant: Grant = {
      GrantId: randomBytes(32).toString('hex'),
      GrantToken: token,
      IssuingAccount: `arn:aws:iam::${sandbox.account}:root`,
      CreationDate: sandbox.clock.now(),
      ...fields,
    };
    sandbox.state.kms.grants[grant.GrantId] = grant;
    return { GrantId: grant.GrantId, GrantToken: grant.GrantToken };
  },

  ListGrants: keyOp('ListGrants', ANY_STATE, (key, input, call) => {
    const grants = Object.values(call.sandbox.state.kms.grants)
      .filter((g) => g.KeyId === key.KeyId)
      .filter((g) => input.GrantId === undefined || g.GrantId === input.GrantId)
      .filter((g) => input.GranteePrincipal === undefined || g.GranteePrincipal === input.GranteePrincipal)
      .map((g) => grantEntry(call, g));
    return paginate(grants, input, 50, 100, 'Grants');
  }),

  RevokeGrant: (input, call) => {
    const key = findKey(call, required(input, 'KeyId'), false);
    const grant = findGrant(call, key, required(input, 'GrantId'));
    authorizeKey(call, 'RevokeGrant', key);
    dryRun(input);
    delete call.sandbox.state.kms.grants[grant.GrantId];
    return {};
  },

  RetireGrant: (input, call) => {
    const { grants } = call.sandbox.state.kms;
    let grant: Grant | undefined;
    if (input.GrantToken !== undefined) {
      grant = Object.values(grants).find((g) => g.GrantToken === input.GrantToken);
      if (!grant) throw kmsError('InvalidGrantTokenException', 'The grant token is not valid.');
    } else {
      if (input.KeyId === undefined || input.GrantId === undefined) throw validation('Grant token OR (grant ID, key ID) must be specified');
      grant = findGrant(call, findKey(call, String(input.KeyId), false), String(input.GrantId));
    }
    // The retiring principal, or a grantee allowed to RetireGrant, may retire; otherwise the key policy decides.
    const arns = callerArns(call.caller);
    const byGrant =
      (grant.RetiringPrincipal && arns.includes(grant.RetiringPrincipal)) ||
      (arns.includes(grant.GranteePrincipal) && grant.Operations.includes('RetireGrant'));
    const key = call.sandbox.state.kms.keys[grant.KeyId];
    if (!byGrant && key) authorizeKey(call, 'RetireGrant', key);
    dryRun(input);
    delete grants[grant.GrantId];
    return {};
  },

  Encrypt: (input, call) => {
    const plaintext = base64Input(input.Plaintext, 'plaintext', 4096);
    const { key, ec } = cryptoKey(call, input, 'Encrypt');
    const algorithm = requireSymmetricAlgorithm(key, input.EncryptionAlgorithm);
    return { CiphertextBlob: seal(key, plaintext, ec).blob.toString('base64'), KeyId: key.Arn, EncryptionAlgorithm: algorithm };
  },

  Decrypt: (input, call) => {
    const blob = base64Input(input.CiphertextBlob, 'ciphertextBlob', 6144);
    const ec = stringMap(input.EncryptionContext, 'EncryptionContext');
    const keyId = blobKeyId(blob);
    if (!keyId) throw kmsError('InvalidCiphertextException', '');
    const key = findKey(call, keyId, false);
    if (input.KeyId !== undefined && findKey(call, String(input.KeyId), true).KeyId !== key.KeyId) {
      throw kmsError('IncorrectKeyException', 'The key ID in the request does not identify a CMK that can perform this operation.');
    }
    const context: Context = { ...encryptionContextKeys(ec), 'kms:EncryptionAlgorithm': String(input.EncryptionAlgorithm ?? 'SYMMETRIC_DEFAULT') };
    if (input.KeyId !== undefined && isAliasRef(String(input.KeyId))) context['kms:RequestAlias'] = aliasNameOf(String(input.KeyId));
    authorizeKey(call, 'Decrypt', key, context, ec);
    requireCryptoKey(key, 'Decrypt');
    const algorithm = requireSymmetricAlgorithm(key, input.EncryptionAlgorithm);
    dryRun(input);
    const { plaintext, material } = open(key, blob, ec);
    return { KeyId: key.Arn, Plaintext: plaintext.toString('base64'), EncryptionAlgorithm: algorithm, KeyMaterialId: materialId(material) };
  },

  GenerateDataKey: (input, call) => {
    const out = generateDataKey(call, input, 'GenerateDataKey');
    return { ...out, Plaintext: out.Plaintext.toString('base64') };
  },

  GenerateDataKeyWithoutPlaintext: (input, call) => {
    const { Plaintext: _plaintext, ...out } = generateDataKey(call, input, 'GenerateDataKeyWithoutPlaintext');
    return out;
  },
};

/**
 * Runs a KMS operation as `caller` — a principal, or a service principal such as
 * `kinesisanalytics.amazonaws.com` — with extra request context (e.g. `kms:ViaService`,
 * `aws:SourceArn`). For sandbox services that call KMS on a caller's behalf, as Managed Flink does.
 */
export function invokeKms(sandbox: Sandbox, caller: Principal | string, operation: string, input: Record<string, unknown>, extra: Context = {}): any {
  const op = operations[operation];
  if (!op) throw new Error(`unknown KMS operation ${operation}`);
  return op(input, { sandbox, caller, extra });
}

/** Completes what is due on the sandbox clock: automatic rotations and scheduled deletions. */
function tick(sandbox: Sandbox): void {
  const now = sandbox.clock.now();
  const { keys, aliases, grants } = sandbox.state.kms;
  for (const key of Object.values(keys)) {
    if (key.KeyState === 'PendingDeletion' && key.DeletionDate !== undefined && key.DeletionDate <= now) {
      // Deleting a key deletes its aliases and grants with it [KMS-DEL], and KMS says so [KMS-EV].
      delete keys[key.KeyId];
      for (const a of Object.values(aliases)) if (a.TargetKeyId === key.KeyId) delete aliases[a.AliasName];
      for (const g of Object.values(grants)) if (g.KeyId === key.KeyId) delete grants[g.GrantId];
      emitEvent(sandbox, {
        source: 'aws.kms',
        'detail-type': 'KMS CMK Deletion',
        time: eventTime(key.DeletionDate),
        resources: [key.Arn],
        detail: { 'key-id': key.KeyId },
      });
      continue;
    }
    // Disabled keys do not rotate until enabled again.
    while (key.KeyState === 'Enabled' && key.RotationEnabled && key.NextRotationDate !== undefined && key.NextRotationDate <= now) {
      rotate(sandbox, key, 'AUTOMATIC', key.NextRotationDate);
      key.NextRotationDate += (key.RotationPeriodInDays ?? 365) * DAY_MS;
    }
  }
}

/** CloudTrail's KMS dates: "Jun 30, 2020 2:34:07 AM" (UTC) [KMS CloudTrail examples]. */
function trailDate(seconds: number): string {
  const d = new Date(seconds * 1000);
  const month = d.toLocaleString('en-US', { month: 'short', timeZone: 'UTC' });
  const hour = d.getUTCHours() % 12 || 12;
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${month} ${d.getUTCDate()}, ${d.getUTCFullYear()} ${hour}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} ${d.getUTCHours() < 12 ? 'AM' : 'PM'}`;
}

/** A response with its `…Date` members as CloudTrail writes them. */
function withTrailDates(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withTrailDates);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, /Date$/.test(k) && typeof v === 'number' ? trailDate(v) : withTrailDates(v)]));
}

/**
 * The keys (and alias) a call names, as CloudTrail lists them in `resources`: resolved before the call,
 * since DeleteAlias removes the alias; CreateKey's key comes from its result.
 */
function trailResources(sandbox: Sandbox, input: any) {
  const refs = [input.KeyId, input.TargetKeyId].filter((r): r is string => typeof r === 'string');
  const alias =
    typeof input.AliasName === 'string' && Object.hasOwn(sandbox.state.kms.aliases, input.AliasName) ? sandbox.state.kms.aliases[input.AliasName] : undefined;
  const keys = refs.map((r) => resolveKey(sandbox.state, r)?.Arn);
  if (alias && !input.TargetKeyId) keys.push(keyArnOf(sandbox, alias.TargetKeyId));
  const aliasArn = typeof input.AliasName === 'string' && input.AliasName.startsWith('alias/') ? aliasArnOf(sandbox, input.AliasName) : undefined;
  return (result: any) =>
    [...new Set([...keys, result?.KeyMetadata?.Arn, aliasArn])]
      .filter((arn): arn is string => !!arn)
      .map((ARN) => ({ accountId: sandbox.account, type: 'AWS::KMS::Key', ARN }));
}

export const kmsService: Service = {
  name: 'kms',
  protocol: 'json',
  targetPrefix: 'TrentService',
  readOnly: new Set([
    'DescribeKey',
    'ListKeys',
    'GetKeyPolicy',
    'ListKeyPolicies',
    'GetKeyRotationStatus',
    'ListKeyRotations',
    'ListResourceTags',
    'ListAliases',
    'ListGrants',
    'Encrypt',
    'Decrypt',
    'GenerateDataKey',
    'GenerateDataKeyWithoutPlaintext',
  ]),
  cloudTrail: { resources: trailResources, response: withTrailDates },
  operations: Object.fromEntries(
    Object.entries(operations).map(([name, op]) => [name, (input: any, ctx) => op(input, { sandbox: ctx.sandbox, caller: ctx.caller, extra: {} })]),
  ),
  tick,
};
