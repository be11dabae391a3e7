import type { Service } from '../sandbox';
// Placeholder: filled in by the Managed Flink work.
export const kinesisAnalyticsService: Service = { name: 'kinesisanalytics', protocol: 'json', targetPrefix: 'KinesisAnalytics_20180523', operations: {} };
