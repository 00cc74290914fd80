/**
 * `/metrics` in Prometheus text format (prom-client). Counters and histograms count what this
 * process saw (its engine's run events, its delivery worker), so a fleet sums them across
 * daemons; gauges are read from the store at each scrape (queue depth, today's spend and
 * budget refusals), so every daemon on a store reports the same store-wide figures.
 */
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { metricsSnapshot } from "../store/metrics-snapshot.js";
import type { Store } from "../store/store.js";
import type { DaemonEvent } from "./daemon.js";

export interface DaemonMetrics {
  observe(event: DaemonEvent): void;
  /** The exposition text and its content type. */
  render(): Promise<{ body: string; contentType: string }>;
}

export function createDaemonMetrics(store: Store, now: () => number = Date.now): DaemonMetrics {
  const registry = new Registry();
  const runs = new Counter({
    name: "loopd_runs_finished_total",
    help: "Runs this process finished, by outcome (succeeded, failed, timed_out, canceled, satisfied, …) and harness.",
    labelNames: ["outcome", "harness"],
    registers: [registry],
  });
  const retried = new Counter({
    name: "loopd_runs_retried_total",
    help: "Attempts that failed and were queued again for a retry.",
    labelNames: ["harness"],
    registers: [registry],
  });
  const duration = new Histogram({
    name: "loopd_run_duration_seconds",
    help: "Wall time of a run's attempt, from start to outcome.",
    labelNames: ["harness"],
    buckets: [0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600],
    registers: [registry],
  });
  const lateness = new Histogram({
    name: "loopd_run_start_lateness_seconds",
    help: "How long after its due time a run's first attempt started (scheduling delay, queueing behind caps).",
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900],
    registers: [registry],
  });
  const recovered = new Counter({
    name: "loopd_leases_recovered_total",
    help: "Runs recovered from an expired lease or a dead worker: requeued or failed (LOOPD_LEASE_EXPIRED).",
    labelNames: ["result"],
    registers: [registry],
  });
  const deliveries = new Counter({
    name: "loopd_deliveries_total",
    help: "Notification delivery attempts by outcome (delivered, retry, dead) and channel.",
    labelNames: ["outcome", "channel"],
    registers: [registry],
  });
  const queue = new Gauge({
    name: "loopd_runs",
    help: "Runs in the store by state: queued (waiting to start) and running, across every worker.",
    labelNames: ["state"],
    registers: [registry],
  });
  const refusals = new Gauge({
    name: "loopd_budget_refusals_today",
    help: "Runs refused or stopped today (UTC) because a budget cap was reached (LOOPD_BUDGET_EXCEEDED).",
    registers: [registry],
  });
  const spendLabels = ["routine", "model"] as const;
  const cost = new Gauge({
    name: "loopd_cost_usd_today",
    help: "Spend recorded in the ledger today (UTC), by routine and model.",
    labelNames: spendLabels,
    registers: [registry],
  });
  const tokens = new Gauge({
    name: "loopd_tokens_today",
    help: "Tokens recorded in the ledger today (UTC), by routine, model and kind (in, out, cached).",
    labelNames: [...spendLabels, "kind"],
    registers: [registry],
  });

  async function collect(): Promise<void> {
    const snapshot = await metricsSnapshot(store.db, now());
    queue.set({ state: "queued" }, snapshot.queued);
    queue.set({ state: "running" }, snapshot.running);
    refusals.set(snapshot.budgetRefusalsToday);
    // Reset first: yesterday's series (or a removed routine's) must not linger after midnight.
    cost.reset();
    tokens.reset();
    for (const row of snapshot.spendToday) {
      const labels = { routine: row.routine, model: row.model };
      cost.set(labels, row.costUsd);
      tokens.set({ ...labels, kind: "in" }, row.tokensIn);
      tokens.set({ ...labels, kind: "out" }, row.tokensOut);
      tokens.set({ ...labels, kind: "cached" }, row.tokensCached);
    }
  }

  return {
    observe(event) {
      switch (event.type) {
        case "run-started":
          if (event.run.attempt === 1) lateness.observe(Math.max(0, now() - event.run.dueAt) / 1000);
          return;
        case "run-finished": {
          if (event.returned || !event.accepted) return;
          const harness = String(event.run.spec.harness ?? "shell");
          duration.observe({ harness }, event.durationMs / 1000);
          if (event.retryAt !== undefined) retried.inc({ harness });
          // A watch counts as satisfied / unsatisfied, the word every face shows for it.
          else runs.inc({ outcome: event.verdict ?? event.outcome, harness });
          return;
        }
        case "recovered":
          if (event.requeued.length > 0) recovered.inc({ result: "requeued" }, event.requeued.length);
          if (event.failed.length > 0) recovered.inc({ result: "failed" }, event.failed.length);
          return;
        case "delivered":
        case "retry":
        case "dead":
          deliveries.inc({ outcome: event.type, channel: event.channel });
          return;
        default:
          return;
      }
    },
    async render() {
      await collect();
      return { body: await registry.metrics(), contentType: registry.contentType };
    },
  };
}
