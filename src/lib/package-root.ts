/**
 * Where the installed loopd package lives, for the files it ships beside its code: the
 * dashboard (dist/dashboard), the `loopd` executable other programs are told to spawn
 * (dist/cli/bin.js), package.json's version. A module's own `import.meta.url` cannot say: the
 * same source runs from src/ (Vitest), from dist/<dir>/ (tsc) and from the CLI bundle
 * (dist/cli/bin.js and its chunks in dist/cli/chunks/). The root is the nearest folder above
 * this module whose package.json is loopd's.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

let root: string | undefined;

export function packageRoot(): string {
  root ??= findRoot(dirname(fileURLToPath(import.meta.url)));
  return root;
}

/** package.json's version of the running loopd. */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(join(packageRoot(), "package.json"), "utf8")) as { version: string };
  return pkg.version;
}

/** The `loopd` executable of this package (the bundle `npm run build` writes). */
export function loopdBinPath(): string {
  return join(packageRoot(), "dist", "cli", "bin.js");
}

function findRoot(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    const manifest = join(dir, "package.json");
    if (existsSync(manifest) && isLoopd(manifest)) return dir;
    if (dirname(dir) === dir) throw new Error(`loopd's package.json not found above ${start}`);
  }
}

function isLoopd(manifest: string): boolean {
  try {
    return (JSON.parse(readFileSync(manifest, "utf8")) as { name?: unknown }).name === "loopd";
  } catch {
    return false;
  }
}
