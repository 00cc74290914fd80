import { mkdir, mkdtemp, realpath, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isInside, openWorkspace, resolveInWorkspace, type Workspace } from "./workspace.js";

let base: string;
let root: string;
let outside: string;
let workspace: Workspace;

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), "loopd-ws-"));
  root = join(base, "repo");
  outside = join(base, "outside");
  await mkdir(join(root, "src"), { recursive: true });
  await mkdir(outside);
  await writeFile(join(outside, "secret.txt"), "secret");
  workspace = await openWorkspace(root);
});

afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

describe("resolveInWorkspace", () => {
  it("resolves relative paths, including ones that do not exist yet", async () => {
    const resolved = await resolveInWorkspace(workspace, "src/new/file.ts");
    expect(resolved).toEqual({ ok: true, path: join(root, "src/new/file.ts"), display: "src/new/file.ts" });
  });

  it("accepts absolute paths inside the workspace and `..` that stays inside", async () => {
    expect((await resolveInWorkspace(workspace, join(root, "src"))).ok).toBe(true);
    const resolved = await resolveInWorkspace(workspace, "src/../README.md");
    expect(resolved.ok && resolved.display).toBe("README.md");
  });

  it("refuses absolute paths outside and `..` escapes", async () => {
    for (const path of ["/etc/passwd", "../outside/secret.txt", "src/../../outside", ".."]) {
      const resolved = await resolveInWorkspace(workspace, path);
      expect(resolved.ok, path).toBe(false);
      if (!resolved.ok) expect(resolved.error).toMatch(/^Error: .*outside the workspace/);
    }
  });

  it("refuses a symlink that points outside, and new files below a symlinked folder outside", async () => {
    await symlink(join(outside, "secret.txt"), join(root, "link.txt"));
    await symlink(outside, join(root, "out"));
    expect((await resolveInWorkspace(workspace, "link.txt")).ok).toBe(false);
    expect((await resolveInWorkspace(workspace, "out/secret.txt")).ok).toBe(false);
    expect((await resolveInWorkspace(workspace, "out/new/deeper.txt")).ok).toBe(false);
  });

  it("refuses a dangling symlink whose target would be created outside", async () => {
    await symlink(join(outside, "not-yet.txt"), join(root, "dangling"));
    const resolved = await resolveInWorkspace(workspace, "dangling");
    expect(resolved.ok).toBe(false);
  });

  it("allows symlinks that stay inside, and a workspace reached through a symlink", async () => {
    await writeFile(join(root, "src/a.ts"), "a");
    await symlink(join(root, "src/a.ts"), join(root, "alias.ts"));
    expect((await resolveInWorkspace(workspace, "alias.ts")).ok).toBe(true);
    await symlink(root, join(base, "repo-link"));
    const viaLink = await openWorkspace(join(base, "repo-link"));
    expect((await resolveInWorkspace(viaLink, "src/a.ts")).ok).toBe(true);
    expect((await resolveInWorkspace(viaLink, join(await realpath(root), "src/a.ts"))).ok).toBe(true);
  });
});

describe("isInside", () => {
  it("does not mistake a sibling with a common prefix for a child", () => {
    expect(isInside("/a/repo", "/a/repo")).toBe(true);
    expect(isInside("/a/repo", "/a/repo/x")).toBe(true);
    expect(isInside("/a/repo", "/a/repo-other/x")).toBe(false);
    expect(isInside("/a/repo", "/a/repo/..x")).toBe(true);
  });
});
