import { describe, expect, it } from "vitest";
import { globToRegExp } from "./glob.js";

describe("globToRegExp", () => {
  // [glob, path, anchored (routing rules' `files`), matchBase (list_files / grep)]
  const table: Array<[string, string, boolean, boolean]> = [
    ["*.md", "README.md", true, true],
    ["*.md", "docs/notes.md", false, true],
    ["*.ts", "src/lib/x.tsx", false, false],
    ["src/*.ts", "src/x.ts", true, true],
    ["src/*.ts", "src/lib/x.ts", false, false],
    ["docs/**", "docs/a/b.txt", true, true],
    ["docs/**", "src/docs/a.txt", false, false],
    ["src/**/*.test.ts", "src/lib/x.test.ts", true, true],
    ["src/**/*.test.ts", "src/a.test.ts", true, true],
    ["**/*.test.ts", "a.test.ts", true, true],
    ["file?.txt", "file1.txt", true, true],
    ["file?.txt", "file/.txt", false, false],
    ["*.{md,ts}", "docs/notes.md", false, true],
    ["*.{md,ts}", "index.ts", true, true],
    ["*.{md,ts}", "index.js", false, false],
    // Drift the two old copies had: a comma outside braces, and regex characters, are literal.
    ["a,b.txt", "a,b.txt", true, true],
    ["a,b.txt", "a", false, false],
    ["v1.(x)+[y]$.txt", "v1.(x)+[y]$.txt", true, true],
    ["{unclosed.txt", "{unclosed.txt", true, true],
  ];

  it.each(table)("%s against %s: anchored %s, matchBase %s", (glob, path, anchored, matchBase) => {
    expect(globToRegExp(glob).test(path)).toBe(anchored);
    expect(globToRegExp(glob, { matchBase: true }).test(path)).toBe(matchBase);
  });
});
