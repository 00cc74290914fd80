/**
 * `loopd export`, `import` and `backup` as a user runs them: the built binary, two SQLite
 * homes (the store-to-store round trips across dialects are src/app/portability.test.ts).
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { json, runCli } from "./helpers/cli.js";

const dir = mkdtempSync(join(tmpdir(), "loopd-cli-data-"));
const source = { LOOPD_HOME: join(dir, "source") };
const target = { LOOPD_HOME: join(dir, "target") };
const loopd = (env: Record<string, string>, ...args: string[]) => runCli(args, { cwd: dir, env });

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("loopd export / import / backup", () => {
  it("moves a home's routines to another, once, and backs it up", async () => {
    writeFileSync(
      join(dir, "loopd.yaml"),
      "routines:\n  - name: nightly\n    repo: .\n    every: 1d\n    command: echo nightly\n",
    );
    expect((await loopd(source, "apply")).code).toBe(0);
    const file = join(dir, "home.json");
    const exported = json<{ routines: number; file: string }>(await loopd(source, "export", file, "--json"));
    expect(exported).toMatchObject({ file, routines: 1 });
    expect(statSync(file).mode & 0o777).toBe(0o600);

    const imported = await loopd(target, "import", file, "--json");
    expect(json(imported)).toMatchObject({ routines: { added: 1 }, conflicts: [] });
    const again = await loopd(target, "import", file);
    expect(again.stdout).toContain("routines    0 added, 0 replaced, 1 already here");
    // A file whose routine differs from the target's no longer fits without --replace.
    const changed = join(dir, "changed.json");
    const document = JSON.parse(readFileSync(file, "utf8")) as { routines: Array<{ specHash: string }> };
    document.routines[0]!.specHash = "changed";
    writeFileSync(changed, JSON.stringify(document));
    const refused = await loopd(target, "import", changed, "--json");
    expect(refused.code).toBe(2);
    expect(json<{ error: { code: string; details: unknown } }>(refused).error).toMatchObject({
      code: "LOOPD_IMPORT_CONFLICT",
      details: { conflicts: ["routine nightly (its spec differs)"] },
    });
    expect(json(await loopd(target, "import", changed, "--replace", "--json"))).toMatchObject({
      routines: { replaced: 1 },
    });

    const backup = join(dir, "backup.db");
    expect(json(await loopd(source, "backup", backup, "--json"))).toMatchObject({
      file: backup,
      check: "ok",
    });
  });
});
