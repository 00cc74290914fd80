/**
 * One routine: the pull requests a built-in loop watches, its recent runs as a timeline and
 * list, its open check, memory (agents) and its YAML.
 */
import { api } from "../api.js";
import { CheckCard } from "../components/check-card.js";
import { CodeText } from "../components/code-text.js";
import { EmptyState } from "../components/empty-state.js";
import { Loaded } from "../components/loaded.js";
import { RelativeTime } from "../components/relative-time.js";
import { RoutineActions } from "../components/routine-actions.js";
import { RunTimeline } from "../components/run-timeline.js";
import { RunsTable } from "../components/runs-table.js";
import { StatusBadge } from "../components/status-badge.js";
import { WATCHED_HEADING, WatchedItems, type WatchedKind } from "../components/watched-items.js";
import { useLiveUpdates } from "../hooks/use-live-updates.js";
import { useNow } from "../hooks/use-now.js";
import { useResource } from "../hooks/use-resource.js";
import { triggerWords } from "../trigger-words.js";
import type { RoutineDetail } from "../types.js";

export function RoutinePage({ name }: { name: string }) {
  const routine = useResource(() => loadRoutine(name), name);
  useLiveUpdates(routine.reload, name);
  return (
    <main>
      <Loaded resource={routine}>
        {(detail) => <RoutineBody detail={detail} onChanged={routine.reload} />}
      </Loaded>
    </main>
  );
}

const TIMELINE_RUNS = 40;

/** The detail carries a handful of runs; the timeline wants more history. */
async function loadRoutine(name: string): Promise<RoutineDetail> {
  const [detail, runs] = await Promise.all([
    api.routine(name),
    api.runs({ routine: name, limit: TIMELINE_RUNS }),
  ]);
  return { ...detail, recentRuns: runs.length >= detail.recentRuns.length ? runs : detail.recentRuns };
}

function RoutineBody({ detail, onChanged }: { detail: RoutineDetail; onChanged: () => void }) {
  const now = useNow();
  const { health } = detail;
  const watchedKind: WatchedKind = detail.spec.loop?.kind === "issue-to-pr" ? "issue" : "pull-request";
  return (
    <>
      <div className="page-head">
        <div>
          <h1>
            {detail.name} <StatusBadge value={detail.state} />
          </h1>
          {detail.description && <p className="muted">{detail.description}</p>}
        </div>
        <RoutineActions routine={detail} onChanged={onChanged} />
      </div>
      <dl className="facts">
        <dt>Trigger</dt>
        <dd>{triggerWords(detail)}</dd>
        <dt>Next due</dt>
        <dd>
          <RelativeTime iso={detail.nextDueAt} now={now} />
        </dd>
        <dt>Harness</dt>
        <dd>
          {detail.harness}
          {detail.tier && ` · tier ${detail.tier}`}
        </dd>
        {detail.pausedReason && (
          <>
            <dt>Paused because</dt>
            <dd>
              {detail.pausedReason}
              {detail.pauseHint && (
                <div className="muted small">
                  <CodeText text={detail.pauseHint} />
                </div>
              )}
            </dd>
          </>
        )}
        {detail.misfire && (
          <>
            <dt>Misfire</dt>
            <dd className="bad-text">
              due <RelativeTime iso={detail.misfire.dueAt} now={now} />, nothing ran
              <div className="muted small">
                <CodeText text={detail.misfire.hint} />
              </div>
            </dd>
          </>
        )}
        <dt>Last success</dt>
        <dd>
          <RelativeTime iso={health.lastSuccessAt} now={now} />
        </dd>
        {health.lastError && (
          <>
            <dt>Last error</dt>
            <dd className="bad-text">
              {health.lastError.code && <code>{health.lastError.code}</code>} {health.lastError.message}
            </dd>
          </>
        )}
        {detail.labels.length > 0 && (
          <>
            <dt>Labels</dt>
            <dd>{detail.labels.join(", ")}</dd>
          </>
        )}
        {detail.source && (
          <>
            <dt>Source</dt>
            <dd>
              <code>{detail.source}</code>
            </dd>
          </>
        )}
      </dl>

      {detail.watching && (
        <section>
          <h2>{WATCHED_HEADING[watchedKind]}</h2>
          <WatchedItems items={detail.watching} kind={watchedKind} now={now} />
        </section>
      )}

      <section>
        <h2>Recent runs</h2>
        {detail.recentRuns.length === 0 ? (
          <EmptyState title="No runs yet">
            It runs {triggerWords(detail)}; press <strong>Run now</strong> to try it at once.
          </EmptyState>
        ) : (
          <>
            <RunTimeline runs={detail.recentRuns} />
            <RunsTable runs={detail.recentRuns.slice(0, 15)} showRoutine={false} />
          </>
        )}
      </section>

      {detail.checks && (
        <section>
          <h2>Check</h2>
          <CheckCard check={detail.checks} />
        </section>
      )}

      {/* Only agents keep a memory: a shell routine or a watch has nothing to show here. */}
      {(detail.spec.memory || detail.memory) && (
        <section>
          <h2>Memory</h2>
          {detail.memory ? (
            <pre className="block">{detail.memory}</pre>
          ) : (
            <p className="muted">Nothing remembered yet: the agent writes notes here for its next run.</p>
          )}
        </section>
      )}

      <section>
        <h2>Config</h2>
        <p className="muted small">
          As in loopd.yaml{detail.source ? "" : " (this routine belongs to no file)"}:
        </p>
        <pre className="block" data-testid="routine-yaml">
          {detail.yaml}
        </pre>
      </section>
    </>
  );
}
