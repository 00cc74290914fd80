/** The sandbox a run's attempt had: its `sandbox` status event (harness/sandbox/sandbox.ts writes it). */
import type { Db } from "./store.js";

export interface RunSandboxRecord {
  mode: string;
  confined: boolean;
  reason?: string;
  /** What else to know (builtin: its file tools are path-checked in-process). */
  note?: string;
  write?: string[];
  read?: string[];
  network?: string[] | "all";
  loopback?: string[];
}

export async function findRunSandbox(
  db: Db,
  runId: number,
  attempt: number,
): Promise<RunSandboxRecord | null> {
  const row = await db
    .selectFrom("run_events")
    .select("data")
    .where("run_id", "=", runId)
    .where("attempt", "=", attempt)
    .where("type", "=", "status")
    .where("data", "like", '%"event":"sandbox"%')
    .orderBy("id", "desc")
    .limit(1)
    .executeTakeFirst();
  if (!row) return null;
  try {
    const { event: _event, ...record } = JSON.parse(row.data) as RunSandboxRecord & { event: string };
    return record;
  } catch {
    return null; // an unreadable event must not hide the rest of the run
  }
}
