/** The watches: what each checks, where it stands and what it last found. */
import { api } from "../api.js";
import { CodeText } from "../components/code-text.js";
import { EmptyState } from "../components/empty-state.js";
import { Evidence } from "../components/evidence.js";
import { Loaded } from "../components/loaded.js";
import { RelativeTime } from "../components/relative-time.js";
import { StatusBadge } from "../components/status-badge.js";
import { useLiveUpdates } from "../hooks/use-live-updates.js";
import { useNow } from "../hooks/use-now.js";
import { useResource } from "../hooks/use-resource.js";
import { href } from "../route.js";

export function ChecksPage() {
  const checks = useResource(api.checks);
  useLiveUpdates(checks.reload);
  const now = useNow();
  return (
    <main>
      <h1>Checks</h1>
      <Loaded resource={checks}>
        {(list) =>
          list.length === 0 ? (
            <EmptyState title="No watches yet">
              A watch is a routine with a <code>check:</code> — a command, URL, GitHub item or question
              evaluated until it holds. Try <code>loopd remind "tell me when the PR is merged"</code>.
            </EmptyState>
          ) : (
            <div className="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th>Routine</th>
                    <th>Check</th>
                    <th>State</th>
                    <th>Next</th>
                    <th>Deadline</th>
                    <th>Last found</th>
                  </tr>
                </thead>
                <tbody>
                  {list.map((check) => (
                    <tr key={check.routine}>
                      <td>
                        <a href={href.routine(check.routine)}>{check.routine}</a>
                      </td>
                      <td>
                        <CodeText text={check.check} />
                        <div className="muted small">
                          <code>{check.subject}</code>
                        </div>
                      </td>
                      <td>
                        <StatusBadge value={check.state} />
                      </td>
                      <td>
                        <RelativeTime iso={check.nextEvaluationAt} now={now} />
                      </td>
                      <td>
                        <RelativeTime iso={check.deadline} now={now} />
                      </td>
                      <td className="summary">
                        {check.last ? (
                          <>
                            <StatusBadge value={check.last.status} />{" "}
                            <a href={href.run(check.last.runId)}>#{check.last.runId}</a> {check.last.summary}
                            {check.last.evidence && <Evidence evidence={check.last.evidence} />}
                          </>
                        ) : (
                          <span className="muted">not evaluated yet</span>
                        )}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )
        }
      </Loaded>
    </main>
  );
}
