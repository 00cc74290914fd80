/**
 * The install story the README tells: from a clone, `npm link` puts `loopd` on the PATH (here
 * into a temporary npm prefix, offline); then, in an empty folder elsewhere, `loopd init`
 * writes a config whose `$schema` resolves to a file that exists, and `loopd apply` takes it.
 * The package's `files` carry what a packed install needs (bin, dashboard, schema).
 */
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
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

  it("a packed install carries the bin, the dashboard and the schema", async () => {
    const { stdout } = await run("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME },
    });
    const [packed] = JSON.parse(stdout) as Array<{ files: Array<{ path: string }> }>;
    const files = packed!.files.map((file) => file.path);
    expect(files).toContain("dist/cli/bin.js");
    expect(files).toContain("dist/dashboard/index.html");
    expect(files).toContain("schema/loopd.schema.json");
  });
});
