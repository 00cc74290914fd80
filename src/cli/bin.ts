#!/usr/bin/env node
/**
 * The `loopd` executable. `loopd --version` answers before the command tree loads (it is what
 * scripts and agents probe); everything else loads main.js, whose commands load their own
 * subsystems on use (bench/results/cli.md has the start-up figures).
 */
import { packageVersion } from "../lib/package-root.js";

const argv = process.argv.slice(2);
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
}
