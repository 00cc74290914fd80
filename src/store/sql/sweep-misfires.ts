/**
 * The misfire sweep: active routines whose due time is far behind with no run
 * (`domain/misfire.ts`) get one `routine.misfired` notification each, and
 * `misfire_notified_at` so the next sweep — in this process or another — stays quiet about
 * the same misfire. Mark and event are one transaction; PostgreSQL sweepers skip rows another
 * holds. A cheap read comes first, so a sweep with nothing late writes nothing.
 */
import type { Kysely } from "kysely";
import { ERROR_CODES } from "../../domain/error-codes.js";
import { MISFIRE_MIN_LATE_MS, misfireNeedsNotice, misfireOf } from "../../domain/misfire.js";
import { storedSpec } from "../../domain/stored-spec.js";
import { enqueueEvent } from "../outbox.js";
import type { Database } from "../schema.js";
import type { Store } from "../store.js";

export interface NotifiedMisfire {
  routine: string;
  dueAt: number;
}

export async function sweepMisfires(store: Store, now: number): Promise<NotifiedMisfire[]> {
  const candidates = (db: Kysely<Database>) =>
    db
      .selectFrom("routines")
      .select(["id", "name", "spec", "state", "next_due_at", "misfire_notified_at"])
      .where("state", "=", "active")
      .where("next_due_at", "<", now - MISFIRE_MIN_LATE_MS)
      .where((eb) =>
        eb.or([eb("misfire_notified_at", "is", null), eb("misfire_notified_at", "<", eb.ref("next_due_at"))]),
      )
      .orderBy("id");
  if ((await candidates(store.db).limit(1).execute()).length === 0) return [];

  return store.writeTransaction(async (trx) => {
    const rows = await candidates(trx)
      .$if(store.dialect === "postgres", (query) => query.forUpdate().skipLocked())
      .execute();
    const notified: NotifiedMisfire[] = [];
    for (const row of rows) {
      const spec = storedSpec(row.spec);
      const misfire = misfireOf({ state: row.state, nextDueAt: row.next_due_at, trigger: spec.trigger }, now);
      if (!misfire || !misfireNeedsNotice(misfire, row.misfire_notified_at)) continue;
      await trx.updateTable("routines").set({ misfire_notified_at: now }).where("id", "=", row.id).execute();
      const dueAt = new Date(misfire.dueAt).toISOString();
      await enqueueEvent(trx, {
        type: "routine.misfired",
        // Nothing failed, yet nothing ran: whoever hears about failures must hear this.
        kind: ["failure"],
        routineId: row.id,
        runId: null,
        payload: {
          routine: row.name,
          reason: `due ${dueAt}, no run since`,
          code: "LOOPD_ROUTINE_MISFIRE",
          dueAt,
          lateByMs: misfire.lateByMs,
          hint: ERROR_CODES.LOOPD_ROUTINE_MISFIRE.hint,
        },
        notify: spec.notify,
        now,
      });
      notified.push({ routine: row.name, dueAt: misfire.dueAt });
    }
    return notified;
  });
}
