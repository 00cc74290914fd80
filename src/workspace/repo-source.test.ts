import { describe, expect, it } from "vitest";
import { isRepoUrl, repoSource } from "./repo-source.js";

describe("repoSource", () => {
  it.each([
    ["https://github.com/acme/api.git", true],
    ["ssh://git@example.com:2222/acme/api.git", true],
    ["git@github.com:acme/api.git", true],
    ["file:///srv/git/api.git", true],
    ["/home/me/src/api", false],
    ["relative/api", false],
    ["/home/me/user@host:weird", false],
  ])("tells clone URLs from folders: %s", (repo, url) => {
    expect(isRepoUrl(repo)).toBe(url);
  });

  it("keys a repo by a readable name plus a hash of its identity", () => {
    const a = repoSource("git@github.com:acme/api.git");
    const b = repoSource("https://github.com/acme/api.git");
    expect(a.key).toMatch(/^api-[0-9a-f]{10}$/);
    expect(b.key).toMatch(/^api-[0-9a-f]{10}$/);
    expect(a.key).not.toBe(b.key);
    expect(repoSource("/nowhere/My Project!").key).toMatch(/^My-Project-[0-9a-f]{10}$/);
  });
});
