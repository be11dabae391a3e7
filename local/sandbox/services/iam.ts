import type { Service } from '../sandbox';
// Placeholder: filled in by the IAM work.
export const iamService: Service = { name: 'iam', protocol: 'query', xmlns: 'https://iam.amazonaws.com/doc/2010-05-08/', operations: {} };
