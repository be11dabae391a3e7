/**
 * Resource Groups Tagging API (`ResourceGroupsTaggingAPI_20170126.*`, JSON 1.1): GetResources over the
 * tagged resources of this sandbox that AWS lists there too — KMS keys (pending deletion included) and
 * Managed Flink applications. IAM roles and policies are not in the Tagging API in AWS either.
 * Authorized as `tag:GetResources` on `*` (the API checks no per-resource permission).
 */
import { AwsError } from '../errors';
import type { Sandbox, Service } from '../sandbox';

interface Tagged {
  arn: string;
  type: string;
  tags: { Key: string; Value: string }[];
}

function taggedResources(sandbox: Sandbox): Tagged[] {
  const { kms, kinesisanalytics } = sandbox.state;
  return [
    ...Object.values(kms.keys).map((k) => ({ arn: k.Arn, type: 'kms:key', tags: k.Tags.map((t) => ({ Key: t.TagKey, Value: t.TagValue })) })),
    ...Object.values(kinesisanalytics.applications).map((a) => ({ arn: a.ApplicationARN, type: 'kinesisanalytics:application', tags: a.Tags })),
  ];
}

const validation = (message: string) => new AwsError('InvalidParameterException', message, 400);

export const taggingService: Service = {
  name: 'tagging',
  protocol: 'json',
  targetPrefix: 'ResourceGroupsTaggingAPI_20170126',
  readOnly: new Set(['GetResources']),
  operations: {
    GetResources: (input, { sandbox, caller }) => {
      sandbox.authorize('tagging', caller, 'tag:GetResources', '*');
      const types: string[] = Array.isArray(input.ResourceTypeFilters) ? input.ResourceTypeFilters.map(String) : [];
      const filters: { Key: string; Values?: string[] }[] = Array.isArray(input.TagFilters) ? input.TagFilters : [];
      if (filters.length > 50) throw validation('TagFilters must contain at most 50 filters.');
      const perPage = input.ResourcesPerPage === undefined ? 50 : Number(input.ResourcesPerPage);
      if (!Number.isInteger(perPage) || perPage < 1 || perPage > 100) throw validation('ResourcesPerPage must be between 1 and 100.');
      // A type filter is "service" or "service:resourceType".
      const typeMatches = (t: string) => !types.length || types.some((f) => t === f || t.split(':')[0] === f);
      // Every filter must match; a filter with no values matches any value of its key.
      const tagsMatch = (tags: Tagged['tags']) => filters.every((f) => tags.some((t) => t.Key === f.Key && (!f.Values?.length || f.Values.includes(t.Value))));
      const all = taggedResources(sandbox)
        .filter((r) => r.tags.length && typeMatches(r.type) && tagsMatch(r.tags))
        .sort((a, b) => a.arn.localeCompare(b.arn));
      const start = input.PaginationToken ? Number(Buffer.from(String(input.PaginationToken), 'base64url').toString()) : 0;
      if (!Number.isInteger(start) || start < 0) throw validation('The PaginationToken is not valid.');
      const end = start + perPage;
      return {
        ResourceTagMappingList: all.slice(start, end).map((r) => ({ ResourceARN: r.arn, Tags: r.tags })),
        // AWS answers an empty string, not a missing token, on the last page.
        PaginationToken: end < all.length ? Buffer.from(String(end)).toString('base64url') : '',
      };
    },
  },
};
