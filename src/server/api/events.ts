/**
 * Server-Sent Events. Both streams poll the store rather than listen to the engine, so they
 * work the same for runs executed by this daemon, by `loopd worker`s on other hosts, or by
 * `loopd run` in another process, and a reconnecting client loses nothing:
 * - one run (`GET /runs/{id}/events?follow=1`): stored events (`id:` = event id, default
 *   event type, data = RunEvent), `event: run` on each status change, `event: end` when the
 *   run is final — after one last read of its events, which are written before completion.
 * - everything (`GET /events`): `event: run` when a run appears or changes status or attempt,
 *   `event: routine` when a routine changes, `event: routine-removed` when one goes.
 * Comment lines every 15 s keep proxies from closing an idle stream.
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import { type SSEStreamingApi, streamSSE } from "hono/streaming";
import { listRoutineViews } from "../../app/routines.js";
import { findRunView, listRunLog, listRunViews } from "../../app/runs.js";
import type { RunView } from "../../app/views.js";
import { LoopdError } from "../../domain/errors.js";
import { isFinalStatus } from "../../domain/run-status.js";
import { type Api, type ApiDeps, DEFAULT_TIMING, type StreamTiming } from "./deps.js";
import { errorResponses } from "./schemas.js";

/** How many of the newest runs the global stream compares each time (plus all queued and running). */
const RECENT_WINDOW = 50;

export function wantsStream(c: Context, follow: string | undefined): boolean {
  if (follow !== undefined) return follow === "1" || follow === "true";
  return (c.req.header("accept") ?? "").includes("text/event-stream");
}

export async function requireRunView(deps: ApiDeps, runId: number): Promise<RunView> {
  const run = await findRunView(deps.store, runId);
  if (!run)
    throw new LoopdError("LOOPD_NOT_FOUND", `no run ${runId}`, { hint: "GET /api/v1/runs lists runs." });
  return run;
}

export function followRun(c: Context, deps: ApiDeps, runId: number, after: number): Response {
  const timing = timingOf(deps);
  return streamSSE(
    c,
    async (stream) => {
      const beat = heartbeat(stream, timing);
      let cursor = after;
      let status: RunView["status"] | undefined;
      const sendEvents = async () => {
        for (const event of await listRunLog(deps.store, runId, { afterId: cursor })) {
          await stream.writeSSE({ id: String(event.id), data: JSON.stringify(event) });
          cursor = event.id;
        }
      };
      try {
        while (!stream.aborted && !stream.closed) {
          await sendEvents();
          const run = await findRunView(deps.store, runId);
          if (!run) break; // removed with its routine
          if (run.status !== status) {
            status = run.status;
            await stream.writeSSE({ event: "run", data: JSON.stringify(run) });
          }
          if (isFinalStatus(run.status)) {
            await sendEvents();
            await stream.writeSSE({ event: "end", data: JSON.stringify(run) });
            break;
          }
          await stream.sleep(timing.runPollMs);
        }
      } finally {
        beat.stop();
      }
    },
    onStreamError,
  );
}

const globalRoute = createRoute({
  method: "get",
  path: "/events",
  tags: ["events"],
  summary: "Live changes of runs and routines (Server-Sent Events)",
  description:
    "`event: run` (data: RunView) when a run is queued, starts, is retried or finishes; `event: routine` (data: RoutineView) when a routine changes; `event: routine-removed` (data: { name }). Nothing is replayed: read the lists first, then follow.",
  request: {
    query: z.object({
      access_token: z
        .string()
        .optional()
        .openapi({ description: "For EventSource, which cannot send headers." }),
    }),
  },
  responses: {
    200: { description: "The stream", content: { "text/event-stream": { schema: z.string() } } },
    ...errorResponses(401),
  },
});

export function registerEventRoutes(api: Api, deps: ApiDeps): void {
  api.openapi(globalRoute, (c) => followEverything(c, deps));
}

function followEverything(c: Context, deps: ApiDeps): Response {
  const timing = timingOf(deps);
  return streamSSE(
    c,
    async (stream) => {
      const beat = heartbeat(stream, timing);
      const runs = new Map<number, string>();
      const routines = new Map<string, string>();
      let first = true;
      try {
        while (!stream.aborted && !stream.closed) {
          for (const run of await changedRuns(deps, runs)) {
            const key = `${run.status}/${run.attempt}`;
            if (runs.get(run.id) === key) continue;
            runs.set(run.id, key);
            if (!first) await stream.writeSSE({ event: "run", data: JSON.stringify(run) });
          }
          const views = await listRoutineViews(deps.store);
          for (const view of views) {
            const key = `${view.updatedAt}/${view.state}/${view.nextDueAt}/${view.health.lastRunAt}/${view.lastVerdict}`;
            if (routines.get(view.name) === key) continue;
            routines.set(view.name, key);
            if (!first) await stream.writeSSE({ event: "routine", data: JSON.stringify(view) });
          }
          const names = new Set(views.map((view) => view.name));
          for (const name of routines.keys()) {
            if (names.has(name)) continue;
            routines.delete(name);
            await stream.writeSSE({ event: "routine-removed", data: JSON.stringify({ name }) });
          }
          if (first) {
            // After the snapshot: whatever changes from here on is reported.
            await stream.write(": connected\n\n");
            first = false;
          }
          await stream.sleep(timing.globalPollMs);
        }
      } finally {
        beat.stop();
      }
    },
    onStreamError,
  );
}

/** The newest runs, every queued or running one, and any we knew unfinished that fell out of both. */
async function changedRuns(deps: ApiDeps, known: Map<number, string>): Promise<RunView[]> {
  const { store } = deps;
  const [recent, queued, running] = await Promise.all([
    listRunViews(store, { limit: RECENT_WINDOW }),
    listRunViews(store, { status: "queued", limit: 500 }),
    listRunViews(store, { status: "running", limit: 500 }),
  ]);
  const seen = new Map<number, RunView>();
  for (const run of [...recent, ...queued, ...running]) seen.set(run.id, run);
  for (const [id, key] of known) {
    if (seen.has(id)) continue;
    const status = key.split("/")[0] as RunView["status"];
    if (isFinalStatus(status)) {
      known.delete(id); // finished and out of the window: nothing more to report
      continue;
    }
    const run = await findRunView(store, id);
    if (run) seen.set(id, run);
    else known.delete(id);
  }
  return [...seen.values()].sort((a, b) => a.id - b.id);
}

function heartbeat(stream: SSEStreamingApi, timing: StreamTiming): { stop(): void } {
  const timer = setInterval(() => {
    if (!stream.aborted && !stream.closed) void stream.write(": heartbeat\n\n").catch(() => {});
  }, timing.heartbeatMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

function timingOf(deps: ApiDeps): StreamTiming {
  return { ...DEFAULT_TIMING, ...deps.timing };
}

/** A failure mid-stream (store closed at shutdown …) ends the stream with an error event, no stack. */
async function onStreamError(error: Error, stream: SSEStreamingApi): Promise<void> {
  const message = error.message.split("\n", 1)[0] ?? "stream failed";
  await stream.writeSSE({ event: "error", data: JSON.stringify({ code: "LOOPD_INTERNAL", message }) });
}
