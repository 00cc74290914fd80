// Bundles the `loopd` executable with rolldown: src/cli/bin.ts → dist/cli/bin.js, with what
// commands load on use (`await import(…)`: serve, mcp, the agent harnesses, …) split into
// dist/cli/chunks/ so `loopd --version` or `loopd ls` parse only what they run. One file per
// concern in src/, a few files at start-up here: Node resolving and reading hundreds of small
// ESM modules was most of the unbundled CLI's start-up (see bench/results/cli.md).
//
// Chunks: split by use alone (which lazy imports reach a module), the commands people type
// most (`ls`, `show`, `runs`, `status` on a store) loaded 44 chunks, many under 1 KB, and
// Node's ESM loader costs about half a millisecond a file. So three chunks are named here:
// `boot` (what bin.js needs to answer `--version`), `cli` (the command tree and error
// rendering every other command loads) and `core` (what a store-backed listing adds: the
// client, the store, the routine and run views, and the libraries under them). Everything
// else is split by use as before. `loopd mcp` loads `cli` but not `core` before it answers
// `initialize`; `serve` loads all of it.
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
//   --metafile writes each chunk's modules, size and imports as JSON (to see what a command loads).
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "rolldown";

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

/** The entry: its static imports form the `boot` chunk. */
const ENTRY = "src/cli/bin.ts";

/** Where the `cli` chunk starts: the command tree and error rendering every command loads. */
const CLI_ROOTS = ["src/cli/main.ts"];

/**
 * Where the `core` chunk starts: these modules and all they import statically (less `boot`
 * and `cli`). The path of `loopd ls` crosses these lazy imports: bin → main → the routines
 * commands → connect → the local client → the store and the routine use-cases.
 */
const CORE_ROOTS = [
  "src/cli/commands/routines.ts",
  "src/cli/commands/runs.ts",
  "src/app/client/connect.ts",
  "src/app/open-store.ts",
  "src/store/store.ts",
  "src/app/routines.ts",
  "src/app/runs.ts",
];

/**
 * zod re-exports its 50 error-message locales as `z.locales` (and `core.locales`), so a bundle
 * holds them all: 330 KB, two thirds of zod, compiled by every command that loads zod. loopd
 * and its dependencies use none of them (zod's English messages load on their own), so
 * `z.locales` holds English only here.
 */
const zodEnglishOnly = {
  name: "zod-english-only",
  resolveId(source, importer) {
    if (source !== "../locales/index.js" || importer === undefined) return null;
    if (!/[\\/]node_modules[\\/]zod[\\/]v4[\\/](classic|mini|core)[\\/]/.test(importer)) return null;
    return `\0zod-english-only:${join(dirname(importer), "..", "locales", "en.js")}`;
  },
  load(id) {
    if (!id.startsWith("\0zod-english-only:")) return null;
    return `export { default as en } from ${JSON.stringify(id.slice("\0zod-english-only:".length))};`;
  },
};

/** Records each module's static imports, so the chunk groups can take whole import trees. */
function importGraph() {
  const imports = new Map();
  const closure = (roots) => {
    const seen = new Set();
    const stack = roots.map((file) => join(root, file));
    while (stack.length > 0) {
      const id = stack.pop();
      if (seen.has(id)) continue;
      seen.add(id);
      stack.push(...(imports.get(id) ?? []));
    }
    return seen;
  };
  let groups;
  /**
   * Computed once, when chunking asks: the graph is complete by then. A module in several
   * trees goes to the group of highest priority (boot, then cli, then core).
   */
  const membership = () => {
    if (groups === undefined) {
      const boot = closure([ENTRY]);
      boot.delete(join(root, ENTRY));
      groups = { boot, cli: closure(CLI_ROOTS), core: closure(CORE_ROOTS) };
    }
    return groups;
  };
  return {
    plugin: {
      name: "import-graph",
      moduleParsed(info) {
        imports.set(info.id, info.importedIds);
      },
    },
    inBoot: (id) => membership().boot.has(id),
    inCli: (id) => membership().cli.has(id),
    inCore: (id) => membership().core.has(id),
  };
}

const outdirArg = process.argv.indexOf("--outdir");
const outdir = outdirArg >= 0 ? join(process.cwd(), process.argv[outdirArg + 1]) : join(root, "dist", "cli");
mkdirSync(outdir, { recursive: true });

const graph = importGraph();
const external = new RegExp(`^(${EXTERNAL.join("|")})($|/)`);

const result = await build({
  cwd: root,
  input: { bin: ENTRY },
  platform: "node",
  external: [external],
  // The source imports `./x.js` for `./x.ts` (NodeNext).
  resolve: { extensionAlias: { ".js": [".ts", ".js"] } },
  tsconfig: join(root, "tsconfig.json"),
  transform: { target: "node20" },
  plugins: [zodEnglishOnly, graph.plugin],
  logLevel: "warn",
  // A lazy import of a module that `core` holds anyway is expected (it is lazy for other paths).
  checks: { ineffectiveDynamicImport: false },
  output: {
    dir: outdir,
    format: "esm",
    entryFileNames: "[name].js",
    chunkFileNames: "chunks/[name]-[hash].js",
    codeSplitting: {
      groups: [
        { name: "boot", test: graph.inBoot, priority: 3 },
        { name: "cli", test: graph.inCli, priority: 2 },
        { name: "core", test: graph.inCore, priority: 1 },
      ],
    },
    comments: false,
    // A third less to read and compile at every start; names kept for stack traces and `error.name`.
    minify: true,
    keepNames: true,
    sourcemap: true,
    sourcemapExcludeSources: true,
  },
});

// Chunks of the previous build go once the new ones are written (their names carry a content
// hash): a loopd process started before this build still finds the chunks it loads later.
// tsc (tsconfig.build.json) also writes dist/cli/*.js; only the bundle's files are touched.
const written = new Set(result.output.map((file) => join(outdir, file.fileName)));
const chunks = join(outdir, "chunks");
for (const file of readdirSync(chunks)) {
  if (!written.has(join(chunks, file))) rmSync(join(chunks, file), { force: true });
}

// Node looks up the package scope of every module it loads (is it ESM?) by walking up for a
// package.json: from dist/cli/chunks that is three levels, for each chunk a command loads.
// This one answers at the first level (packageRoot() looks for the one named "loopd").
writeFileSync(join(chunks, "package.json"), '{ "type": "module" }\n');

const metafileArg = process.argv.indexOf("--metafile");
if (metafileArg >= 0) {
  const chunkList = result.output
    .filter((file) => file.type === "chunk")
    .map((chunk) => ({
      file: chunk.fileName,
      bytes: Buffer.byteLength(chunk.code),
      modules: chunk.moduleIds.map((id) => id.replace(root, "")),
      imports: chunk.imports,
      dynamicImports: chunk.dynamicImports,
    }));
  writeFileSync(
    process.argv[metafileArg + 1] ?? join(root, "dist", "cli-meta.json"),
    JSON.stringify({ chunks: chunkList }, null, 1),
  );
}
