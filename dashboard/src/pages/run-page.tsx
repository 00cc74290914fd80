/** One run: outcome, routing, spend, branch and delivered work, check verdict, changed files, live log and diff. */
import { useEffect, useState } from "react";
import { isFinalStatus } from "../../../src/domain/run-status.js";
import { api } from "../api.js";
import { CodeText } from "../components/code-text.js";
import { DiffView } from "../components/diff-view.js";
import { Evidence } from "../components/evidence.js";
import { LiveLog } from "../components/live-log.js";
import { Loaded } from "../components/loaded.js";
import { RelativeTime } from "../components/relative-time.js";
import { OutcomeBadge, StatusBadge, UnverifiedBadge } from "../components/status-badge.js";
import { dateTime, duration, money, shortSha, tokens } from "../format.js";
import { useNow } from "../hooks/use-now.js";
import { useResource } from "../hooks/use-resource.js";
import { href } from "../route.js";
import type { RunDetail, RunView } from "../types.js";

export function RunPage({ id }: { id: number }) {
  const run = useResource(() => api.run(id), id);
  const [update, setUpdate] = useState<RunView>();
  // Whether to stream is decided once per run (the app keys this page by id): switching
  // mid-way would load the whole log again.
  const [streamed, setStreamed] = useState<boolean>();
  useEffect(() => {
    if (run.data) setStreamed((value) => value ?? !isFinalStatus(run.data!.status));
  }, [run.data]);

  return (
    <main>
      <Loaded resource={run}>
        {(detail) => {
          const merged: RunDetail = update ? { ...detail, ...update } : detail;
          return (
            <>
              <RunSummary run={merged} />
              <section>
                <h2>Log</h2>
                {streamed !== undefined && (
                  <LiveLog
                    runId={id}
                    live={streamed}
                    onRun={setUpdate}
                    onEnd={() => {
                      setUpdate(undefined);
                      run.reload();
                    }}
                  />
                )}
              </section>
              <section>
                <h2>Diff</h2>
                {!isFinalStatus(merged.status) ? (
                  <p className="muted">The diff appears when the run finishes.</p>
                ) : (
                  <DiffView runId={id} inline={detail.diff} refreshKey={merged.status} />
                )}
              </section>
            </>
          );
        }}
      </Loaded>
    </main>
  );
}

/** The run's work: the commit on its branch, where it was pushed (or why not), or why delivery failed. */
function Delivery({ delivery }: { delivery: NonNullable<RunDetail["delivery"]> }) {
  return (
    <>
      {delivery.commit !== null ? (
        <>
          <code>{delivery.branch}</code> at <code title={delivery.commit}>{shortSha(delivery.commit)}</code>
          {delivery.pushed && (
            <>
              {" "}
              · pushed to <code>{delivery.remote}</code> <code>{delivery.remoteBranch}</code>
            </>
          )}
          {delivery.skipped && <span className="muted"> · not pushed: {delivery.skipped}</span>}
          {delivery.pullRequest && (
            <>
              {" "}
              · pull request{" "}
              <a href={delivery.pullRequest.url} target="_blank" rel="noreferrer">
                #{delivery.pullRequest.number}
              </a>{" "}
              {delivery.pullRequest.created ? "opened" : "updated"}
            </>
          )}
        </>
      ) : (
        <span className="bad-text">not committed</span>
      )}
      {delivery.error && (
        <div className="error-box">
          <code className="error-code">{delivery.error.code}</code> {delivery.error.message}
          <div className="hint">{delivery.error.hint}</div>
        </div>
      )}
    </>
  );
}

function RunSummary({ run }: { run: RunDetail }) {
  const now = useNow();
  const { usage } = run;
  return (
    <>
      <div className="page-head">
        <h1>
          Run #{run.id} <OutcomeBadge run={run} />
          {run.unverified && <UnverifiedBadge />}
        </h1>
        <a href={href.routine(run.routine)}>← {run.routine}</a>
      </div>
      {run.error && (
        <div className="error-box">
          {run.error.code && <code className="error-code">{run.error.code}</code>} {run.error.message}
          {run.error.hint && (
            <div className="hint">
              <CodeText text={run.error.hint} />
            </div>
          )}
        </div>
      )}
      {run.unverified && (
        <div className="error-box">
          Unverified: the agent's last tool call failed and the routine has no <code>verify</code>, so nobody
          checked this success. Read the log below, or add <code>verify</code> to the routine.
        </div>
      )}
      {run.summary && <p className="lead">{run.summary}</p>}
      <dl className="facts">
        <dt>Trigger</dt>
        <dd>
          {run.trigger}
          {run.reason && ` · ${run.reason}`} · due {dateTime(run.dueAt)}
        </dd>
        <dt>Started</dt>
        <dd>
          <RelativeTime iso={run.startedAt} now={now} />
          {run.workerId && <span className="muted"> on {run.workerId}</span>}
        </dd>
        <dt>Duration</dt>
        <dd>{duration(run.durationMs)}</dd>
        <dt>Attempt</dt>
        <dd>
          {run.attempt} of {run.maxAttempts}
          {run.exitCode !== null && <span className="muted"> · exit {run.exitCode}</span>}
        </dd>
        <dt>Routing</dt>
        <dd>
          {run.tier ?? <span className="muted">no tier</span>}
          {run.routeReason && <span className="muted"> · {run.routeReason}</span>}
        </dd>
        <dt>Spend</dt>
        <dd>
          {money(run.costUsd)} · {tokens(usage.tokensIn)} in · {tokens(usage.tokensOut)} out
          {usage.tokensCached > 0 && ` · ${tokens(usage.tokensCached)} cached`}
          {run.turns !== null && ` · ${run.turns} turns`}
          {run.metering && <span className="muted"> · metering: {run.metering}</span>}
          {run.reported && (
            <div className="muted">
              the harness reported {money(run.reported.costUsd)} · {tokens(run.reported.tokensIn)} in ·{" "}
              {tokens(run.reported.tokensOut)} out; the ledger counts the gateway's
            </div>
          )}
        </dd>
        <dt>Branch</dt>
        <dd>
          {run.branch ? <code>{run.branch}</code> : <span className="muted">—</span>}
          {run.headCommit && (
            <>
              {" "}
              at <code title={run.headCommit}>{shortSha(run.headCommit)}</code>
            </>
          )}
        </dd>
        {run.delivery && (
          <>
            <dt>Delivered</dt>
            <dd>
              <Delivery delivery={run.delivery} />
            </dd>
          </>
        )}
        {run.workspace && (
          <>
            <dt>Workspace</dt>
            <dd>
              <code>{run.workspace}</code>
            </dd>
          </>
        )}
      </dl>

      {run.check && (
        <section>
          <h2>Check</h2>
          <div className="card">
            <div className="card-title">
              <StatusBadge value={run.check.status} /> {run.check.summary}
            </div>
            {run.check.error && (
              <div className="bad-text">
                <code>{run.check.error.code}</code> {run.check.error.message}
              </div>
            )}
            <Evidence evidence={run.check.evidence} />
          </div>
        </section>
      )}

      {(run.changedFiles.length > 0 || run.escaped.length > 0) && (
        <section>
          <h2>Changed files</h2>
          <ul className="files">
            {run.changedFiles.map((file) => (
              <li key={file}>
                <code>{file}</code>
              </li>
            ))}
          </ul>
          {run.escaped.length > 0 && (
            <div className="error-box">
              Written outside the workspace:{" "}
              {run.escaped.map((file) => (
                <code key={file}>{file} </code>
              ))}
            </div>
          )}
        </section>
      )}

      {run.finalMessage && run.finalMessage !== run.summary && (
        <section>
          <h2>Final message</h2>
          <pre className="block wrap">{run.finalMessage}</pre>
        </section>
      )}
    </>
  );
}
