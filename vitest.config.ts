import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    globalSetup: ["test/global-setup.ts"],
    // Store contract tests open real SQLite files and PostgreSQL schemas; CLI tests spawn processes.
    // End-to-end files start many CLI and daemon processes; two files run at once (below).
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    // Most files wait on spawned processes (agent CLIs, daemons, git), not on this CPU: Vitest's
    // default of one worker per core minus one would run them one at a time on a 2-core machine.
    maxWorkers: 2,
  },
});
