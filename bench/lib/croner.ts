/** (c) baseline: in-process timers, no store. 1,000 croner jobs firing every second. */
import { Cron } from "croner";
import { delay, quantile } from "./common.js";

export interface CronerResult {
  fired: number;
  expected: number;
  p50: number;
  p99: number;
  max: number;
  /** Median over the ticks of the earliest job's lateness. */
  firstOfTick: number;
}

export async function cronerLateness(options: { jobs: number; seconds: number }): Promise<CronerResult> {
  const lateness: number[] = [];
  const earliest = new Map<number, number>();
  // Start on a whole second so the window holds exactly `seconds` ticks of every job.
  const first = Math.ceil((Date.now() + 1500) / 1000) * 1000;
  const lastTick = first + (options.seconds - 1) * 1000;
  await delay(first - 500 - Date.now());
  const jobs: Cron[] = [];
  for (let index = 0; index < options.jobs; index++) {
    jobs.push(
      new Cron("* * * * * *", () => {
        const now = Date.now();
        // The tick this call is for: the nearest whole second (croner can fire a hair early).
        const scheduled = Math.round(now / 1000) * 1000;
        if (scheduled < first || scheduled > lastTick) return;
        lateness.push(now - scheduled);
        earliest.set(scheduled, Math.min(earliest.get(scheduled) ?? now - scheduled, now - scheduled));
      }),
    );
  }
  await delay(lastTick + 900 - Date.now());
  for (const job of jobs) job.stop();
  return {
    fired: lateness.length,
    expected: options.jobs * options.seconds,
    p50: quantile(lateness, 0.5),
    p99: quantile(lateness, 0.99),
    max: quantile(lateness, 1),
    firstOfTick: quantile([...earliest.values()], 0.5),
  };
}
