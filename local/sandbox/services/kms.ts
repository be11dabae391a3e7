import type { Service } from '../sandbox';
// Placeholder: filled in by the KMS work.
export const kmsService: Service = { name: 'kms', protocol: 'json', targetPrefix: 'TrentService', operations: {} };
