/** The append-only log of a run: output lines and structured agent events. */
import { sql } from "kysely";
import type { NewRunEvent, RunEvent } from "../domain/run-event.js";
import type { Dialect } from "./migrations/migration.js";
import type { RunEventRow } from "./schema.js";
import { jsonTable } from "./sql/values.js";
import type { Db } from "./store.js";

/** With `dialect`, the batch is sent as one JSON parameter (sql/values.ts) whatever its size. */
export async function appendRunEvents(
  db: Db,
  events: readonly NewRunEvent[],
  dialect?: Dialect,
): Promise<void> {
  if (events.length === 0) return;
  if (dialect) {
    const v = jsonTable(
      dialect,
      "v",
      [
        ["run_id", "bigint"],
        ["attempt", "integer"],
        ["at", "bigint"],
        ["type", "text"],
        ["stream", "text"],
        ["data", "text"],
      ],
      events.map((event) => [event.runId, event.attempt, event.at, event.type, event.stream, event.data]),
    );
    await sql`with ${v} insert into run_events (run_id, attempt, at, type, stream, data)
      select run_id, attempt, at, type, stream, data from v`.execute(db);
    return;
  }
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
