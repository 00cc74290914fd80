/** What a cost report groups the ledger by (`loopd costs --by`, GET /costs?by=). */
export const COST_REPORT_KEYS = ["routine", "model", "tier", "day", "harness"] as const;
export type CostReportKey = (typeof COST_REPORT_KEYS)[number];
