/** A list of runs, each linking to its detail page. */
import { duration, money } from "../format.js";
import { useNow } from "../hooks/use-now.js";
import { href } from "../route.js";
import type { RunView } from "../types.js";
import { RelativeTime } from "./relative-time.js";
import { OutcomeBadge, UnverifiedBadge } from "./status-badge.js";

export function RunsTable({ runs, showRoutine = true }: { runs: RunView[]; showRoutine?: boolean }) {
  const now = useNow();
  return (
    <div className="table-wrap">
      <table>
        <thead>
          <tr>
            <th>Run</th>
            {showRoutine && <th>Routine</th>}
            <th>Status</th>
            <th>Trigger</th>
            <th>Started</th>
            <th className="num">Duration</th>
            <th className="num">Cost</th>
            <th>Summary</th>
          </tr>
        </thead>
        <tbody>
          {runs.map((run) => (
            <tr key={run.id}>
              <td>
                <a href={href.run(run.id)}>#{run.id}</a>
              </td>
              {showRoutine && (
                <td>
                  <a href={href.routine(run.routine)}>{run.routine}</a>
                </td>
              )}
              <td>
                <OutcomeBadge run={run} />
                {run.unverified && <UnverifiedBadge />}
              </td>
              <td>{run.trigger}</td>
              <td>
                <RelativeTime iso={run.startedAt ?? run.queuedAt} now={now} />
              </td>
              <td className="num">{duration(run.durationMs)}</td>
              <td className="num">{money(run.costUsd)}</td>
              <td className="summary">{run.error?.message ?? run.summary ?? ""}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
