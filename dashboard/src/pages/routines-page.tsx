/** Every routine and watch: when it runs next, how it last went, what it cost today. */
import { api } from "../api.js";
import { EmptyState } from "../components/empty-state.js";
import { Loaded } from "../components/loaded.js";
import { RelativeTime } from "../components/relative-time.js";
import { RoutineActions } from "../components/routine-actions.js";
import { StatusBadge, UnverifiedBadge } from "../components/status-badge.js";
import { money } from "../format.js";
import { useLiveUpdates } from "../hooks/use-live-updates.js";
import { useNow } from "../hooks/use-now.js";
import { useResource } from "../hooks/use-resource.js";
import { href } from "../route.js";
import { triggerWords } from "../trigger-words.js";
import type { RoutineRow } from "../types.js";

export function RoutinesPage() {
  const routines = useResource(api.routines);
  useLiveUpdates(routines.reload);
  return (
    <main>
      <h1>Routines</h1>
      <Loaded resource={routines}>
        {(rows) =>
          rows.length === 0 ? (
            <EmptyState title="No routines yet">
              Add one to <code>loopd.yaml</code> and run <code>loopd apply</code>, or create a reminder with{" "}
              <code>loopd remind "check the deploy in 2 hours"</code>.
            </EmptyState>
          ) : (
            <RoutinesTable rows={rows} onChanged={routines.reload} />
          )
        }
      </Loaded>
    </main>
  );
}

function RoutinesTable({ rows, onChanged }: { rows: RoutineRow[]; onChanged: () => void }) {
  const now = useNow(5_000);
  return (
    <div className="table-wrap">
      <table className="routines">
        <thead>
          <tr>
            <th>Name</th>
            <th>Trigger</th>
            <th>Next due</th>
            <th>Last outcome</th>
            <th className="num">Today</th>
            <th>State</th>
            <th>
              <span className="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {rows.map((routine) => (
            <tr key={routine.name} className={routine.state === "paused" ? "is-paused" : undefined}>
              <td>
                <a href={href.routine(routine.name)}>{routine.name}</a>
                {routine.description && <div className="muted small">{routine.description}</div>}
              </td>
              <td>{triggerWords(routine)}</td>
              <td>
                {routine.misfire ? (
                  <Misfire misfire={routine.misfire} now={now} />
                ) : (
                  <RelativeTime iso={routine.nextDueAt} now={now} />
                )}
              </td>
              <td>
                <LastOutcome routine={routine} now={now} />
              </td>
              <td className="num">{money(routine.costTodayUsd)}</td>
              <td>
                <StatusBadge value={routine.state} />
                {routine.pausedReason && <div className="muted small">{routine.pausedReason}</div>}
              </td>
              <td>
                <RoutineActions routine={routine} onChanged={onChanged} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Nothing scheduled it for two periods: say so where the next due time would be. */
function Misfire({ misfire, now }: { misfire: NonNullable<RoutineRow["misfire"]>; now: number }) {
  return (
    <span className="bad-text" title={misfire.hint}>
      misfire: due <RelativeTime iso={misfire.dueAt} now={now} />, nothing ran
    </span>
  );
}

function LastOutcome({ routine, now }: { routine: RoutineRow; now: number }) {
  const { health } = routine;
  if (health.lastRunAt === null && health.lastOutcome === null)
    return <span className="muted">no runs yet</span>;
  return (
    <>
      <StatusBadge
        value={routine.check !== null && routine.lastVerdict ? routine.lastVerdict : health.lastOutcome}
      />{" "}
      {health.lastUnverified && (
        <>
          <UnverifiedBadge />{" "}
        </>
      )}
      <span className="muted small">
        <RelativeTime iso={health.lastRunAt} now={now} />
      </span>
      {health.consecutiveFailures > 1 && (
        <div className="small bad-text">{health.consecutiveFailures} failures in a row</div>
      )}
    </>
  );
}
