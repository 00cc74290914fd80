/** The append-only log of a run: output lines and structured agent events. */
import type { NewRunEvent, RunEvent } from "../domain/run-event.js";
import type { RunEventRow } from "./schema.js";
import type { Db } from "./store.js";

export async function appendRunEvents(db: Db, events: readonly NewRunEvent[]): Promise<void> {
  if (events.length === 0) return;
  await db
    .insertInto("run_events")
    .values(
      events.map((event) => ({
        run_id: event.runId,
        attempt: event.attempt,
        at: event.at,
        type: event.type,
        stream: event.stream,
        data: event.data,
      })),
    )
    .execute();
}

/** In order; `afterId` lets a follower fetch only what is new. */
export async function listRunEvents(
  db: Db,
  runId: number,
  options: { afterId?: number } = {},
): Promise<RunEvent[]> {
  let query = db.selectFrom("run_events").selectAll().where("run_id", "=", runId).orderBy("id");
  if (options.afterId !== undefined) query = query.where("id", ">", options.afterId);
  const rows = await query.execute();
  return rows.map(toRunEvent);
}

function toRunEvent(row: RunEventRow): RunEvent {
  return {
    id: row.id,
    runId: row.run_id,
    attempt: row.attempt,
    at: row.at,
    type: row.type,
    stream: row.stream,
    data: row.data,
  };
}
