import { initial } from "./0001-initial.js";
import { routineRepo } from "./0002-routine-repo.js";
import { agentRuns } from "./0003-agent-runs.js";
import { routingBudgets } from "./0004-routing-budgets.js";
import { inboundHooks } from "./0005-inbound-hooks.js";
import { outboxDigests } from "./0006-outbox-digests.js";
import { watchVerdicts } from "./0007-watch-verdicts.js";
import { trustedResults } from "./0008-trusted-results.js";
import { workers } from "./0009-workers.js";
import { watchBackoff } from "./0010-watch-backoff.js";
import { loopItems } from "./0011-loop-items.js";
import { feedbackClusters } from "./0012-feedback-clusters.js";
import { testResults } from "./0013-test-results.js";
import { gatewayMetering } from "./0014-gateway-metering.js";
import type { Migration } from "./migration.js";

/** Every migration, in order. Append only. */
export const MIGRATIONS: readonly Migration[] = [
  initial,
  routineRepo,
  agentRuns,
  routingBudgets,
  inboundHooks,
  outboxDigests,
  watchVerdicts,
  trustedResults,
  workers,
  watchBackoff,
  loopItems,
  feedbackClusters,
  testResults,
  gatewayMetering,
];
