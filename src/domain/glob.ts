/**
 * File globs as RegExps over "/"-separated relative paths, one dialect for every caller
 * (routing rules' `when.files`, the builtin harness's list_files/grep):
 *
 *   pattern    matches
 *   `**\/`     any run of whole directories, none included (`src/**\/x.ts` matches `src/x.ts`)
 *   `**`       anything, slashes included (`docs/**`)
 *   `*`        any run of characters within one path segment
 *   `?`        one character other than "/"
 *   `{a,b}`    one of the alternatives (a comma outside braces is itself)
 *
 * Anchored on the whole path, except with `matchBase`: then a pattern without "/" matches the
 * base name at any depth (`*.ts` finds `src/lib/x.ts`), as users expect from `find -name`.
 * Hand-rolled because node's path.matchesGlob is still experimental (warns) in Node 20.
 */
export function globToRegExp(glob: string, options: { matchBase?: boolean } = {}): RegExp {
  let source = "";
  let braces = 0;
  for (let i = 0; i < glob.length; i++) {
    const char = glob[i] as string;
    if (char === "*" && glob[i + 1] === "*") {
      const slash = glob[i + 2] === "/";
      source += slash ? "(?:.*/)?" : ".*";
      i += slash ? 2 : 1;
    } else if (char === "*") source += "[^/]*";
    else if (char === "?") source += "[^/]";
    else if (char === "{" && glob.indexOf("}", i) > i) {
      braces++;
      source += "(?:";
    } else if (char === "}" && braces > 0) {
      braces--;
      source += ")";
    } else if (char === "," && braces > 0) source += "|";
    else source += char.replace(/[.+?^${}()|[\]\\]/g, "\\$&");
  }
  const anywhere = options.matchBase === true && !glob.includes("/");
  return new RegExp(anywhere ? `(?:^|/)${source}$` : `^${source}$`);
}
