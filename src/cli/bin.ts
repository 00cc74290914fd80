#!/usr/bin/env node
/**
 * The `loopd` executable. `loopd --version` answers before the command tree loads (it is what
 * scripts and agents probe); everything else loads main.js, whose commands load their own
 * subsystems on use (bench/results/cli.md has the start-up figures).
 */
import { packageVersion } from "../lib/package-root.js";

const argv = process.argv.slice(2);
const daemon = argv.some((arg) => arg === "serve" || arg === "worker");
/** Runs until stopped and ends on its own terms: a daemon, or an MCP server on stdio. */
const longRunning = daemon || argv.includes("mcp");

// `loopd ls | head`: the reader has what it wanted and closed the pipe. Stop quietly, as Unix
// tools do, not with Node's stack trace. `serve` and `worker` keep running (their log file has
// the rest): a daemon's work does not end with whoever watched its console.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code !== "EPIPE") throw error;
  if (!daemon) process.exit(0);
});

if (argv.length === 1 && (argv[0] === "--version" || argv[0] === "-V")) {
  process.stdout.write(`${packageVersion()}\n`);
} else {
  const { main } = await import("./main.js");
  process.exitCode = await main(argv, {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    env: process.env,
    now: () => Date.now(),
  });
  // The command is done: leave once its output is out, not when the event loop drains (what a
  // library leaves behind, an idle socket or its teardown, is not the user's wait).
  if (!longRunning) {
    await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
    process.exit();
  }
}

/** Resolves once what was written to the stream before has gone out (a pipe is written async). */
function flushed(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => stream.write("", () => resolve()));
}
