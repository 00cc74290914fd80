import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { grepTool, listFilesTool } from "./search-tools.js";
import { openWorkspace, type Workspace } from "./workspace.js";

let base: string;
let workspace: Workspace;

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), "loopd-search-"));
  const root = join(base, "repo");
  for (const dir of ["src/lib", ".git", "node_modules/pkg", "docs"])
    await mkdir(join(root, dir), { recursive: true });
  await writeFile(join(root, "src/main.ts"), "import { x } from './lib/x.js';\nconsole.log(x);\n");
  await writeFile(join(root, "src/lib/x.ts"), "export const x = 42; // TODO tidy\n");
  await writeFile(join(root, "src/lib/x.test.ts"), "test('x', () => {});\n");
  await writeFile(join(root, "docs/notes.md"), "todo: write docs\n");
  await writeFile(join(root, ".git/HEAD"), "TODO in git\n");
  await writeFile(join(root, "node_modules/pkg/index.js"), "// TODO in deps\n");
  await mkdir(join(base, "outside"));
  await writeFile(join(base, "outside/leak.ts"), "TODO outside\n");
  await symlink(join(base, "outside"), join(root, "linked"));
  workspace = await openWorkspace(root);
});

afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

describe("list_files", () => {
  it("lists folders and files, skipping .git and node_modules, without entering symlinks", async () => {
    expect(await listFilesTool(workspace, {})).toBe(
      [
        "docs/",
        "docs/notes.md",
        "linked@",
        "src/",
        "src/lib/",
        "src/lib/x.test.ts",
        "src/lib/x.ts",
        "src/main.ts",
      ].join("\n"),
    );
  });

  it("filters by pattern and caps the depth", async () => {
    expect(await listFilesTool(workspace, { pattern: "*.test.ts" })).toBe("src/lib/x.test.ts");
    expect(await listFilesTool(workspace, { path: "src", depth: 1 })).toBe("lib/\nmain.ts");
    expect(await listFilesTool(workspace, { path: "../outside" })).toMatch(/^Error:/);
  });
});

describe("grep", () => {
  it("prints path:line for matches, skipping .git, node_modules and symlinked folders", async () => {
    expect(await grepTool(workspace, { pattern: "TODO" })).toBe(
      "src/lib/x.ts:1: export const x = 42; // TODO tidy",
    );
    expect(await grepTool(workspace, { pattern: "todo", ignore_case: true, glob: "*.md" })).toBe(
      "docs/notes.md:1: todo: write docs",
    );
  });

  it("searches one file or folder and stops at max_results", async () => {
    expect(await grepTool(workspace, { pattern: "x", path: "src/main.ts", max_results: 1 })).toBe(
      "src/main.ts:1: import { x } from './lib/x.js';\n(stopped at 1 matches)",
    );
    expect(await grepTool(workspace, { pattern: "x =", path: "src/lib" })).toMatch(/^src\/lib\/x.ts:1:/);
  });

  it("reports bad patterns, no matches and escapes as readable errors", async () => {
    expect(await grepTool(workspace, { pattern: "(" })).toMatch(/^Error: invalid regular expression/);
    expect(await grepTool(workspace, { pattern: "nothing-here" })).toMatch(/^\(no matches/);
    expect(await grepTool(workspace, { pattern: "TODO", path: "linked" })).toMatch(/^Error:.*outside/);
  });
});
