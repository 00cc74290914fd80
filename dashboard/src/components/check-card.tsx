/** Where a watch stands: its check, state, next evaluation and last verdict with evidence. */
import { useNow } from "../hooks/use-now.js";
import { href } from "../route.js";
import type { CheckView } from "../types.js";
import { CodeText } from "./code-text.js";
import { Evidence } from "./evidence.js";
import { RelativeTime } from "./relative-time.js";
import { StatusBadge } from "./status-badge.js";

export function CheckCard({ check }: { check: CheckView }) {
  const now = useNow();
  return (
    <div className="card">
      <div className="card-title">
        <CodeText text={check.check} /> <StatusBadge value={check.state} />
      </div>
      <dl className="facts">
        <dt>Subject</dt>
        <dd>
          <code>{check.subject}</code>
        </dd>
        <dt>Next evaluation</dt>
        <dd>
          <RelativeTime iso={check.nextEvaluationAt} now={now} />
        </dd>
        {check.deadline && (
          <>
            <dt>Deadline</dt>
            <dd>
              <RelativeTime iso={check.deadline} now={now} />
            </dd>
          </>
        )}
        <dt>Last verdict</dt>
        <dd>
          <StatusBadge value={check.last?.status ?? check.lastVerdict} />{" "}
          {check.last && (
            <>
              <a href={href.run(check.last.runId)}>run #{check.last.runId}</a>{" "}
              <RelativeTime iso={check.last.at} now={now} />
            </>
          )}
        </dd>
        {check.last?.summary && (
          <>
            <dt>Found</dt>
            <dd>{check.last.summary}</dd>
          </>
        )}
        <dt>When unsatisfied</dt>
        <dd>
          {[
            check.onUnsatisfied.notify ? `notify ${check.notifies.join(", ") || "(no channels)"}` : null,
            check.onUnsatisfied.run ? `run ${check.onUnsatisfied.run}` : null,
          ]
            .filter(Boolean)
            .join(" · ") || "nothing"}
        </dd>
      </dl>
      {check.last?.evidence && <Evidence evidence={check.last.evidence} />}
    </div>
  );
}
