/**
 * Recent runs as bars across the whole width, oldest left: one bar per run, its height the
 * duration, its colour the outcome; hovering a bar says which run, its outcome, when, how
 * long and what it cost, and a click opens it. Runs without a duration (queued, running,
 * skipped) get a short stub so they still show up. Plain flex boxes rather than an SVG of
 * fixed size, so a few runs fill the box as well as forty do.
 */
import { dateTime, duration, money } from "../format.js";
import { href } from "../route.js";
import type { RunView } from "../types.js";
import { runColour } from "./status-badge.js";

/** Percent of the height: a run with no duration is still visible and clickable. */
const STUB = 6;

export function RunTimeline({ runs }: { runs: RunView[] }) {
  const ordered = [...runs].sort((a, b) => a.id - b.id);
  const longest = Math.max(1, ...ordered.map((run) => run.durationMs ?? 0));
  return (
    <figure className="chart timeline" data-testid="run-timeline">
      <div className="timeline-bars" role="img" aria-label={`Durations of the last ${ordered.length} runs`}>
        {ordered.map((run) => {
          const height = run.durationMs === null ? STUB : Math.max(STUB, (run.durationMs / longest) * 100);
          return (
            <a
              key={run.id}
              href={href.run(run.id)}
              className={`timeline-bar${run.status === "running" ? " pulse" : ""}`}
              data-testid="timeline-bar"
              style={{ height: `${height}%`, background: runColour(run) }}
              title={`#${run.id} ${run.status.replace("_", " ")}${run.verdict ? ` (${run.verdict})` : ""}\n${dateTime(run.startedAt ?? run.queuedAt)} · ${duration(run.durationMs)} · ${money(run.costUsd)}${run.summary ? `\n${run.summary}` : ""}`}
            >
              <span className="sr-only">{`#${run.id} ${run.status}`}</span>
            </a>
          );
        })}
      </div>
      <figcaption className="muted">
        Last {ordered.length} runs · tallest {duration(longest)} · hover a bar for its run
      </figcaption>
    </figure>
  );
}
