import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { countOccurrences, editFileTool, readFileTool, writeFileTool } from "./file-tools.js";
import { openWorkspace, type Workspace } from "./workspace.js";

let base: string;
let root: string;
let workspace: Workspace;

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), "loopd-files-"));
  root = join(base, "repo");
  await mkdir(root);
  await mkdir(join(base, "outside"));
  workspace = await openWorkspace(root);
});

afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

describe("read_file", () => {
  it("numbers lines and pages with offset/limit", async () => {
    await writeFile(join(root, "a.txt"), "one\ntwo\nthree\nfour\n");
    expect(await readFileTool(workspace, { path: "a.txt" })).toBe(
      "     1\tone\n     2\ttwo\n     3\tthree\n     4\tfour",
    );
    const page = await readFileTool(workspace, { path: "a.txt", offset: 2, limit: 2 });
    expect(page).toBe("     2\ttwo\n     3\tthree\n(lines 2-3 of 4; use offset=4 for more)");
  });

  it("explains missing files, folders, binaries and paths outside", async () => {
    await writeFile(join(root, "bin.dat"), Buffer.from([1, 0, 2]));
    expect(await readFileTool(workspace, { path: "nope.txt" })).toMatch(/^Error: nope.txt does not exist/);
    expect(await readFileTool(workspace, { path: "." })).toMatch(/is a directory/);
    expect(await readFileTool(workspace, { path: "bin.dat" })).toMatch(/looks binary/);
    expect(await readFileTool(workspace, { path: "/etc/hostname" })).toMatch(/outside the workspace/);
  });
});

describe("write_file", () => {
  it("creates parent folders and overwrites", async () => {
    expect(await writeFileTool(workspace, { path: "deep/dir/x.txt", content: "a\nb" })).toBe(
      "Created deep/dir/x.txt (2 lines).",
    );
    expect(await writeFileTool(workspace, { path: "deep/dir/x.txt", content: "c" })).toMatch(/^Overwrote/);
    expect(await readFile(join(root, "deep/dir/x.txt"), "utf8")).toBe("c");
  });

  it("refuses to write through a symlink that leaves the workspace", async () => {
    await symlink(join(base, "outside"), join(root, "out"));
    expect(await writeFileTool(workspace, { path: "out/pwned.txt", content: "x" })).toMatch(/^Error:/);
    expect(await writeFileTool(workspace, { path: "../outside/pwned.txt", content: "x" })).toMatch(/^Error:/);
    await expect(readFile(join(base, "outside/pwned.txt"))).rejects.toThrow();
  });
});

describe("edit_file", () => {
  beforeEach(async () => {
    await writeFile(join(root, "code.ts"), "const a = 1;\nconst b = 1;\nconst c = 2;\n");
  });

  it("replaces a snippet that occurs exactly once", async () => {
    const result = await editFileTool(workspace, {
      path: "code.ts",
      old_string: "c = 2",
      new_string: "c = 3",
    });
    expect(result).toBe("Edited code.ts (1 replacement).");
    expect(await readFile(join(root, "code.ts"), "utf8")).toBe("const a = 1;\nconst b = 1;\nconst c = 3;\n");
  });

  it("refuses an ambiguous snippet unless replace_all", async () => {
    const ambiguous = await editFileTool(workspace, {
      path: "code.ts",
      old_string: " = 1",
      new_string: " = 9",
    });
    expect(ambiguous).toMatch(/occurs 2 times/);
    expect(await readFile(join(root, "code.ts"), "utf8")).toContain("const a = 1;");
    const all = await editFileTool(workspace, {
      path: "code.ts",
      old_string: " = 1",
      new_string: " = 9",
      replace_all: true,
    });
    expect(all).toBe("Edited code.ts (2 replacements).");
    expect(await readFile(join(root, "code.ts"), "utf8")).toBe("const a = 9;\nconst b = 9;\nconst c = 2;\n");
  });

  it("refuses a snippet that is not there, an empty one, and a no-op", async () => {
    expect(
      await editFileTool(workspace, { path: "code.ts", old_string: "const d", new_string: "x" }),
    ).toMatch(/not found/);
    expect(await editFileTool(workspace, { path: "code.ts", old_string: "", new_string: "x" })).toMatch(
      /empty/,
    );
    expect(await editFileTool(workspace, { path: "code.ts", old_string: "a", new_string: "a" })).toMatch(
      /same/,
    );
    expect(await editFileTool(workspace, { path: "none.ts", old_string: "a", new_string: "b" })).toMatch(
      /does not exist/,
    );
  });

  it("keeps `$` sequences in the replacement literal", async () => {
    await editFileTool(workspace, { path: "code.ts", old_string: "c = 2", new_string: "c = `$&$1`" });
    expect(await readFile(join(root, "code.ts"), "utf8")).toContain("const c = `$&$1`;");
  });
});

describe("countOccurrences", () => {
  it("counts non-overlapping matches", () => {
    expect(countOccurrences("aaaa", "aa")).toBe(2);
    expect(countOccurrences("abc", "d")).toBe(0);
  });
});
