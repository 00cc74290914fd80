/**
 * The store's words a face needs to name (run statuses for a `--status` choice, cost report
 * keys, delivery states), re-exported so faces depend on app/, never on store/.
 */
export type { CostReportKey } from "../../domain/cost-report.js";
export type { DeliveryStatus } from "../../domain/delivery-status.js";
export { RUN_STATUSES, type RunStatus } from "../../domain/run-status.js";
