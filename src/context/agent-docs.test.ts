import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadAgentDocs, truncateUtf8 } from "./agent-docs.js";

async function repo(files: Record<string, string>): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), "loopd-docs-"));
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(root, path, ".."), { recursive: true });
    await writeFile(join(root, path), content);
  }
  return root;
}

describe("loadAgentDocs", () => {
  it("injects every agent doc for the builtin harness, AGENTS first", async () => {
    const root = await repo({
      "AGENTS.md": "agents rules",
      "CLAUDE.md": "claude rules",
      "docs/PORTING.md": "porting notes",
      ".github/copilot-instructions.md": "copilot rules",
    });
    const docs = await loadAgentDocs({ root, harness: "builtin" });
    expect(docs.docs.map((doc) => [doc.path, doc.handling])).toEqual([
      ["AGENTS.md", "full"],
      ["CLAUDE.md", "full"],
      [".github/copilot-instructions.md", "full"],
      ["docs/PORTING.md", "full"],
    ]);
    expect(docs.text.indexOf("agents rules")).toBeLessThan(docs.text.indexOf("claude rules"));
    expect(docs.cut).toBeNull();
  });

  it("does not repeat the files a harness reads itself", async () => {
    const root = await repo({ "AGENTS.md": "agents rules", "CLAUDE.md": "claude rules", "GEMINI.md": "g" });
    const claude = await loadAgentDocs({ root, harness: "claude" });
    expect(claude.text).toContain("agents rules");
    expect(claude.text).not.toContain("claude rules");
    expect(claude.docs.find((doc) => doc.path === "CLAUDE.md")?.handling).toBe("native");
    const codex = await loadAgentDocs({ root, harness: "codex" });
    expect(codex.text).not.toContain("agents rules");
    expect(codex.text).toContain("claude rules");
  });

  it("prefers AGENTS.override.md in a folder and walks from the root to cwd", async () => {
    const root = await repo({
      "AGENTS.md": "root rules",
      "AGENTS.override.md": "root override",
      "pkg/AGENTS.md": "package rules",
    });
    const docs = await loadAgentDocs({ root, cwd: join(root, "pkg"), harness: "builtin" });
    expect(docs.docs.map((doc) => doc.path)).toEqual(["AGENTS.override.md", "pkg/AGENTS.md"]);
    expect(docs.text).not.toContain("root rules");
  });

  it("caps the total and says what was cut", async () => {
    const root = await repo({
      "AGENTS.md": "a".repeat(1500),
      "docs/PORTING.md": "p".repeat(1500),
      "extra.md": "x",
    });
    const docs = await loadAgentDocs({ root, harness: "builtin", extra: ["extra.md"], maxBytes: 2000 });
    expect(docs.docs.map((doc) => [doc.path, doc.handling])).toEqual([
      ["AGENTS.md", "full"],
      ["docs/PORTING.md", "truncated"],
      ["extra.md", "omitted"],
    ]);
    expect(docs.cut).toContain("cut docs/PORTING.md to 500 of 1500 bytes");
    expect(docs.cut).toContain("omitted extra.md");
    expect(docs.text).toContain("[… cut by loopd: 1000 more bytes]");
  });

  it("ignores listed docs outside the repo", async () => {
    const root = await repo({ "AGENTS.md": "rules" });
    const docs = await loadAgentDocs({
      root,
      harness: "builtin",
      extra: ["../../etc/passwd", "/etc/hostname"],
    });
    expect(docs.docs.map((doc) => doc.path)).toEqual(["AGENTS.md"]);
  });

  it("gives an empty text when the repo has no docs", async () => {
    const docs = await loadAgentDocs({ root: await repo({}), harness: "claude" });
    expect(docs).toEqual({ docs: [], text: "", cut: null });
  });
});

describe("truncateUtf8", () => {
  it("never splits a character", () => {
    expect(truncateUtf8("aé€", 4)).toBe("aé");
    expect(truncateUtf8("aé€", 6)).toBe("aé€");
  });
});
