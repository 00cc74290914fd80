// Bundles the `loopd` executable with esbuild: src/cli/bin.ts → dist/cli/bin.js, with what
// commands load on use (`await import(…)`: serve, mcp, the agent harnesses, …) split into
// dist/cli/chunks/ so `loopd --version` or `loopd ls` parse only what they run. One file per
// concern in src/, a few files at start-up here: Node resolving and reading hundreds of small
// ESM modules was most of the unbundled CLI's start-up (see bench/results/cli.md).
//
// Packages stay external (loaded from node_modules at run time) when bundling would break
// them: native addons (better-sqlite3), files they read or spawn next to their own code
// (node-notifier's vendor binaries, pino's worker-thread transports), or optional native
// parts (pg's pg-native), or a CommonJS package loaded with a dynamic import() whose named
// exports came out broken when inlined (standardwebhooks in app/inbound.ts: "is not a
// constructor" on every signed hook delivery, test/inbound.test.ts). They are the package's
// `dependencies`, with `ai` (harness/builtin/agent.ts reads its package.json for the version);
// everything else is inlined, so it is a devDependency: `npm i -g loopd` does not fetch it.
//
// Usage: node scripts/build-cli.mjs [--outdir <dir>] [--metafile <file>]   (run by `npm run build`)
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = fileURLToPath(new URL("..", import.meta.url));

/** Kept out of the bundle; each must be in package.json `dependencies` (test/install.test.ts checks). */
export const EXTERNAL = [
  "better-sqlite3",
  "pg",
  "pg-native",
  "node-notifier",
  "pino",
  "chrono-node",
  "standardwebhooks",
];

/**
 * zod re-exports its 50 error-message locales as `z.locales` (and `core.locales`), so a bundle
 * holds them all: 330 KB, two thirds of zod, compiled by every command that loads zod. loopd
 * and its dependencies use none of them (zod's English messages load on their own), so
 * `z.locales` holds English only here.
 */
const zodEnglishOnly = {
  name: "zod-english-only",
  setup(build) {
    build.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      /[\\/]node_modules[\\/]zod[\\/]v4[\\/](classic|mini|core)[\\/]/.test(args.importer)
        ? { path: join(args.resolveDir, "..", "locales", "index.js"), namespace: "zod-english-only" }
        : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: "zod-english-only" }, (args) => ({
      contents: 'export { default as en } from "./en.js";',
      resolveDir: join(args.path, ".."),
      loader: "js",
    }));
  },
};

const outdirArg = process.argv.indexOf("--outdir");
const outdir = outdirArg >= 0 ? join(process.cwd(), process.argv[outdirArg + 1]) : join(root, "dist", "cli");
mkdirSync(outdir, { recursive: true });

const result = await build({
  absWorkingDir: root,
  entryPoints: { bin: "src/cli/bin.ts" },
  outdir,
  chunkNames: "chunks/[name]-[hash]",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  external: EXTERNAL,
  plugins: [zodEnglishOnly],
  // Inlined CommonJS packages call require() for Node's built-ins; ESM has no `require`.
  banner: {
    js: 'import { createRequire as __loopdCreateRequire } from "node:module"; const require = __loopdCreateRequire(import.meta.url);',
  },
  legalComments: "none",
  // A third less to read and compile at every start; names kept for stack traces and `error.name`.
  minify: true,
  keepNames: true,
  sourcemap: "linked",
  sourcesContent: false,
  metafile: true,
  logLevel: "warning",
});

// Chunks of the previous build go once the new ones are written (their names carry a content
// hash): a loopd process started before this build still finds the chunks it loads later.
// tsc (tsconfig.build.json) also writes dist/cli/*.js; only the bundle's files are touched.
const written = new Set(Object.keys(result.metafile.outputs).map((file) => join(root, file)));
const chunks = join(outdir, "chunks");
for (const file of readdirSync(chunks)) {
  if (!written.has(join(chunks, file))) rmSync(join(chunks, file), { force: true });
}

// Node looks up the package scope of every module it loads (is it ESM?) by walking up for a
// package.json: from dist/cli/chunks that is three levels, for each of the ~40 chunks `loopd ls`
// loads. This one answers at the first level (packageRoot() looks for the one named "loopd").
writeFileSync(join(chunks, "package.json"), '{ "type": "module" }\n');

const metafileArg = process.argv.indexOf("--metafile");
if (metafileArg >= 0) {
  writeFileSync(
    process.argv[metafileArg + 1] ?? join(root, "dist", "cli-meta.json"),
    JSON.stringify(result.metafile),
  );
}
