/**
 * The store's words a face needs to name (run statuses for a `--status` choice, cost report
 * keys, delivery states), re-exported so faces depend on app/, never on store/.
 */
export type { DeliveryStatus } from "../../store/deliveries.js";
export type { CostReportKey } from "../../store/ledger.js";
export { RUN_STATUSES, type RunStatus } from "../../store/schema.js";
