/**
 * Recent runs as bars, oldest left: height is duration, colour is outcome. Runs without a
 * duration (queued, running, skipped) get a short stub so they still show up.
 */
import { dateTime, duration, money } from "../format.js";
import { href } from "../route.js";
import type { RunView } from "../types.js";
import { runColour } from "./status-badge.js";

const HEIGHT = 80;
const BAR = 14;
const GAP = 4;
const STUB = 4;

export function RunTimeline({ runs }: { runs: RunView[] }) {
  const ordered = [...runs].sort((a, b) => a.id - b.id);
  const longest = Math.max(1, ...ordered.map((run) => run.durationMs ?? 0));
  const width = Math.max(ordered.length * (BAR + GAP), 1);
  return (
    <figure className="chart">
      <svg
        viewBox={`0 0 ${width} ${HEIGHT}`}
        width={width}
        height={HEIGHT}
        role="img"
        aria-label={`Durations of the last ${ordered.length} runs`}
      >
        <line x1={0} x2={width} y1={HEIGHT - 0.5} y2={HEIGHT - 0.5} className="axis" />
        {ordered.map((run, index) => {
          const height =
            run.durationMs === null ? STUB : Math.max(STUB, (run.durationMs / longest) * (HEIGHT - 6));
          return (
            <a key={run.id} href={href.run(run.id)}>
              <rect
                x={index * (BAR + GAP)}
                y={HEIGHT - height}
                width={BAR}
                height={height}
                rx={2}
                fill={runColour(run)}
                className={run.status === "running" ? "pulse" : undefined}
              >
                <title>
                  {`#${run.id} ${run.status.replace("_", " ")}${run.verdict ? ` (${run.verdict})` : ""}\n${dateTime(run.startedAt ?? run.queuedAt)} · ${duration(run.durationMs)} · ${money(run.costUsd)}${run.summary ? `\n${run.summary}` : ""}`}
                </title>
              </rect>
            </a>
          );
        })}
      </svg>
      <figcaption className="muted">
        Last {ordered.length} runs · tallest {duration(longest)}
      </figcaption>
    </figure>
  );
}
