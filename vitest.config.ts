import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    globalSetup: ["test/global-setup.ts"],
    // Store contract tests open real SQLite files and PostgreSQL schemas; CLI tests spawn processes.
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: "forks",
  },
});
