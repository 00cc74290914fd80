/**
 * Which data dir a bare `loopd` opens: the nearest `.loopd` at or above the current
 * directory (like git finds `.git`), else $LOOPD_HOME, else the user data dir; `--home`
 * beats all. `ls` on an empty store names the store it opened and why.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { json, runCli } from "./helpers/cli.js";

describe("home resolution", () => {
  let root: string;
  let project: string;
  let deep: string;
  let elsewhere: string;

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), "loopd-home-"));
    project = join(root, "project");
    deep = join(project, "src", "deep");
    elsewhere = join(root, "elsewhere");
    mkdirSync(deep, { recursive: true });
    mkdirSync(elsewhere);
    mkdirSync(join(project, ".loopd"));
    writeFileSync(
      join(project, "loopd.yaml"),
      "routines:\n  - name: tick\n    command: 'true'\n    every: 1h\n",
    );
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("finds the project's .loopd from a subdirectory, ahead of $LOOPD_HOME", async () => {
    const env = { LOOPD_HOME: join(root, "personal") };
    const applied = await runCli(["apply", "-f", join(project, "loopd.yaml")], { cwd: project, env });
    expect(applied.code, applied.stderr).toBe(0);

    const listed = await runCli(["ls", "--json"], { cwd: deep, env });
    expect(json<Array<{ name: string }>>(listed).map((routine) => routine.name)).toEqual(["tick"]);
  });

  it("ls on an empty store says which store it opened and why", async () => {
    const personal = join(root, "personal-empty");
    const viaEnv = await runCli(["ls"], { cwd: elsewhere, env: { LOOPD_HOME: personal } });
    expect(viaEnv.code, viaEnv.stderr).toBe(0);
    expect(viaEnv.stdout).toContain(`No routines yet in ${join(personal, "loopd.db")} ($LOOPD_HOME;`);

    const viaFlag = await runCli(["ls", "--home", join(root, "flagged")], {
      cwd: deep,
      env: { LOOPD_HOME: personal },
    });
    expect(viaFlag.stdout).toContain(`No routines yet in ${join(root, "flagged", "loopd.db")} (--home)`);

    const xdg = join(root, "xdg");
    const viaDefault = await runCli(["ls"], { cwd: elsewhere, env: { XDG_DATA_HOME: xdg } });
    expect(viaDefault.stdout).toContain(
      `No routines yet in ${join(xdg, "loopd", "loopd.db")} ($XDG_DATA_HOME;`,
    );
  });

  it("names a .loopd found in a parent by its full path", async () => {
    const fresh = join(root, "fresh");
    mkdirSync(join(fresh, ".loopd"), { recursive: true });
    mkdirSync(join(fresh, "sub"));
    const listed = await runCli(["ls"], { cwd: join(fresh, "sub"), env: {} });
    expect(listed.stdout).toContain(
      `No routines yet in ${join(fresh, ".loopd", "loopd.db")} (the nearest .loopd at or above the current directory)`,
    );
  });
});
