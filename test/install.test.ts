/**
 * The install story the README tells: from a clone, `npm link` puts `loopd` on the PATH (here
 * into a temporary npm prefix, offline); then, in an empty folder elsewhere, `loopd init`
 * writes a config whose `$schema` resolves to a file that exists, and `loopd apply` takes it.
 * Then the package as a user gets it: `npm pack`, `npm i -g` of the tarball into another
 * prefix without dev dependencies, and the bundled `loopd` runs init, apply and `serve` (its
 * /healthz and the dashboard) from there.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { useTempDirs } from "./helpers/temp-dirs.js";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("..", import.meta.url));
const tempDir = useTempDirs();

describe("install from a clone", () => {
  it("npm link, then init + apply in an empty folder with the $schema resolving", async () => {
    const prefix = tempDir("loopd-prefix-");
    const project = tempDir("loopd-project-");
    const data = tempDir("loopd-data-");
    // npm_config_prefix = where a global install goes (`<prefix>/bin` on a real PATH).
    const npmEnv = { PATH: process.env.PATH, HOME: process.env.HOME, npm_config_prefix: prefix };
    await run("npm", ["link", "--offline", "--no-audit", "--no-fund", "--ignore-scripts"], {
      cwd: ROOT,
      env: npmEnv,
    });
    const bin = join(prefix, "bin", "loopd");
    expect(existsSync(bin)).toBe(true);

    // A new user's shell: loopd on PATH, no LOOPD_* set, data in a throwaway XDG dir.
    const env = {
      PATH: `${dirname(bin)}:${process.env.PATH}`,
      HOME: process.env.HOME,
      XDG_DATA_HOME: data,
      NO_COLOR: "1",
    };
    const init = await run("loopd", ["init"], { cwd: project, env });
    expect(init.stdout).toContain("Wrote loopd.yaml");

    const config = readFileSync(join(project, "loopd.yaml"), "utf8");
    const schemaRef = /\$schema=(\S+)/.exec(config)?.[1];
    expect(schemaRef).toBeDefined();
    const schemaPath = resolve(project, schemaRef!);
    expect(existsSync(schemaPath), `${schemaRef} should exist`).toBe(true);
    const schema = JSON.parse(readFileSync(schemaPath, "utf8")) as { properties: Record<string, unknown> };
    expect(Object.keys(schema.properties)).toContain("routines");
    // This version's schema, as `loopd schema` prints it.
    expect(schema).toEqual(JSON.parse((await run("loopd", ["schema"], { cwd: project, env })).stdout));

    const apply = await run("loopd", ["apply"], { cwd: project, env });
    expect(apply.stdout).toMatch(/\+ tick/);
    const listed = JSON.parse((await run("loopd", ["ls", "--json"], { cwd: project, env })).stdout) as Array<{
      name: string;
    }>;
    expect(listed.map((routine) => routine.name)).toContain("tick");
  });

  it("npm pack, then npm i -g of the tarball (no dev dependencies): --version, init, apply, and serve answering /healthz with the dashboard", async () => {
    const packDir = tempDir("loopd-pack-");
    const prefix = tempDir("loopd-global-");
    const project = tempDir("loopd-packed-project-");
    const data = tempDir("loopd-packed-data-");
    const npmEnv = { PATH: process.env.PATH, HOME: process.env.HOME };
    // dist/ is built by the suite's global setup, as `prepack` (npm run build) would.
    const { stdout } = await run(
      "npm",
      ["pack", "--json", "--ignore-scripts", "--pack-destination", packDir],
      { cwd: ROOT, env: npmEnv },
    );
    const [packed] = JSON.parse(stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
    const files = packed!.files.map((file) => file.path);
    expect(files).toContain("dist/cli/bin.js");
    expect(files.some((file) => file.startsWith("dist/cli/chunks/"))).toBe(true);
    expect(files).toContain("dist/dashboard/index.html");
    expect(files).toContain("schema/loopd.schema.json");
    // The bundle is all of the CLI: tsc's per-file output stays out of the package.
    expect(
      files.filter((file) => file.startsWith("dist/") && !/^dist\/(cli\/|dashboard\/)/.test(file)),
    ).toEqual([]);
    expect(files.filter((file) => /^dist\/cli\/[^/]+\.js$/.test(file))).toEqual(["dist/cli/bin.js"]);

    // A global install as a user runs it, into a throwaway prefix. The dependencies come from
    // npm's cache or the registry (a global install reads no lockfile); install scripts are
    // off, so better-sqlite3's binary is this checkout's build of the same version instead
    // of a download (its install script fetches a prebuilt one from GitHub).
    await run(
      "npm",
      [
        "install",
        "--global",
        "--prefix",
        prefix,
        "--omit=dev",
        "--prefer-offline",
        "--ignore-scripts",
        "--no-audit",
        "--no-fund",
        join(packDir, packed!.filename),
      ],
      { cwd: packDir, env: npmEnv },
    );
    const installed = join(prefix, "lib", "node_modules", "loopd");
    expect(existsSync(join(installed, "node_modules", "vitest"))).toBe(false);
    // Packages the bundle inlines are devDependencies: a user's install does not fetch them.
    for (const inlined of ["kysely", "commander", "hono", "@modelcontextprotocol/sdk"]) {
      expect(existsSync(join(installed, "node_modules", inlined)), inlined).toBe(false);
    }
    const addon = join("node_modules", "better-sqlite3", "build", "Release", "better_sqlite3.node");
    mkdirSync(dirname(join(installed, addon)), { recursive: true });
    copyFileSync(join(ROOT, addon), join(installed, addon));

    const bin = join(prefix, "bin");
    const env = {
      PATH: `${bin}:${process.env.PATH}`,
      HOME: process.env.HOME,
      XDG_DATA_HOME: data,
      NO_COLOR: "1",
    };
    const version = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };
    expect((await run("loopd", ["--version"], { cwd: project, env })).stdout.trim()).toBe(version.version);
    expect((await run("loopd", ["init"], { cwd: project, env })).stdout).toContain("Wrote loopd.yaml");
    expect((await run("loopd", ["apply"], { cwd: project, env })).stdout).toMatch(/\+ tick/);

    const serve = spawn("loopd", ["serve", "--port", "0", "--json"], { cwd: project, env, stdio: "pipe" });
    try {
      const url = await readyUrl(serve);
      const health = await fetch(new URL("/healthz", url));
      expect(health.status).toBe(200);
      const dashboard = await fetch(url);
      expect(dashboard.status).toBe(200);
      expect(await dashboard.text()).toContain("<div id=");
    } finally {
      serve.kill("SIGTERM");
    }
  }, 300_000);
});

/** The URL `loopd serve --json` announces in its `ready` line. */
function readyUrl(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let stderr = "";
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    createInterface({ input: child.stdout! }).on("line", (line) => {
      let event: { type?: string; url?: string };
      try {
        event = JSON.parse(line) as typeof event;
      } catch {
        return; // not a JSON line
      }
      if (event.type === "ready" && event.url) resolve(event.url);
    });
    child.once("exit", (code) => reject(new Error(`loopd serve exited ${code}: ${stderr}`)));
  });
}
