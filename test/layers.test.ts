/**
 * The layer rules of docs/ARCHITECTURE.md, checked over every import in src/ and dashboard/
 * (type-only and dynamic imports included) with TypeScript's own import scanner. Arrows run one
 * way: faces (cli, server, mcp, dashboard) → app → engine → (checks, notify, harness, workspace)
 * → store → domain, with daemon/ composing everything on top and lib/ a neutral floor. No
 * exceptions are allow-listed: a violation is fixed where it is introduced.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

interface ImportEdge {
  /** The importing file, relative to the repository root. */
  file: string;
  /** The imported file's folder: `dashboard`, or the first folder under src/ (`store`, `app`, …). */
  from: string;
  to: string;
  specifier: string;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === "node_modules" ? [] : sourceFiles(path);
    return /\.tsx?$/.test(entry.name) && !/\.d\.ts$/.test(entry.name) ? [path] : [];
  });
}

/** `src/store/sql/x.ts` → `store`; `dashboard/src/x.ts` → `dashboard`; outside both → null. */
function layerOf(path: string): string | null {
  const parts = relative(root, path).split(sep);
  if (parts[0] === "dashboard") return "dashboard";
  if (parts[0] === "src" && parts.length > 2) return parts[1] ?? null;
  return null;
}

function importEdges(): ImportEdge[] {
  const files = [...sourceFiles(join(root, "src")), ...sourceFiles(join(root, "dashboard"))];
  return files.flatMap((path) => {
    const from = layerOf(path);
    if (from === null) return [];
    const scanned = ts.preProcessFile(readFileSync(path, "utf8"), true, true);
    return scanned.importedFiles
      .filter((imported) => imported.fileName.startsWith("."))
      .flatMap((imported) => {
        const to = layerOf(resolve(dirname(path), imported.fileName));
        return to === null ? [] : [{ file: relative(root, path), from, to, specifier: imported.fileName }];
      });
  });
}

/** Tests may reach anywhere: the rules are about what the product's own code depends on. */
const edges = importEdges().filter((edge) => !/\.test\.tsx?$/.test(edge.file));

const FACES = ["cli", "server", "mcp", "dashboard"];

function violations(rule: (edge: ImportEdge) => boolean): string[] {
  return edges.filter(rule).map((edge) => `${edge.file} imports ${edge.specifier}`);
}

describe("layer rules", () => {
  it("scans a real code base", () => {
    // Guards the scanner itself: an empty edge list would make every rule pass vacuously.
    expect(edges.length).toBeGreaterThan(500);
    expect(new Set(edges.map((edge) => edge.from))).toContain("domain");
  });

  it("domain/ imports nothing of ours outside domain/", () => {
    expect(violations((edge) => edge.from === "domain" && edge.to !== "domain")).toEqual([]);
  });

  it("faces (cli, server, mcp, dashboard) never import store/ or engine/", () => {
    const reachesPast = (edge: ImportEdge) =>
      FACES.includes(edge.from) && ["store", "engine"].includes(edge.to);
    expect(violations(reachesPast)).toEqual([]);
  });

  it("store/ never imports engine/", () => {
    expect(violations((edge) => edge.from === "store" && edge.to === "engine")).toEqual([]);
  });

  it("harness/ never imports store/", () => {
    expect(violations((edge) => edge.from === "harness" && edge.to === "store")).toEqual([]);
  });

  it("gateway/ imports only domain/ and lib/", () => {
    const floor = ["gateway", "domain", "lib"];
    expect(violations((edge) => edge.from === "gateway" && !floor.includes(edge.to))).toEqual([]);
  });

  it("no import cycle between folders", () => {
    const graph = new Map<string, Set<string>>();
    for (const edge of edges) {
      if (edge.from === edge.to) continue;
      if (!graph.has(edge.from)) graph.set(edge.from, new Set());
      graph.get(edge.from)?.add(edge.to);
    }
    // Each strongly connected group of folders, with one importing file for each arrow inside it.
    const cycles = folderGroups(graph).map((group) =>
      edges
        .filter((edge) => edge.from !== edge.to && group.includes(edge.from) && group.includes(edge.to))
        .filter((edge, i, all) => all.findIndex((other) => sameArrow(other, edge)) === i)
        .map((edge) => `${edge.from} → ${edge.to} (${edge.file} imports ${edge.specifier})`),
    );
    expect(cycles).toEqual([]);
  });
});

function sameArrow(a: ImportEdge, b: ImportEdge): boolean {
  return a.from === b.from && a.to === b.to;
}

/** The strongly connected groups of more than one folder (Tarjan): each one is an import cycle. */
function folderGroups(graph: Map<string, Set<string>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const groups: string[][] = [];
  let next = 0;
  const visit = (node: string): void => {
    index.set(node, next);
    low.set(node, next);
    next += 1;
    stack.push(node);
    onStack.add(node);
    for (const target of graph.get(node) ?? []) {
      if (!index.has(target)) {
        visit(target);
        low.set(node, Math.min(low.get(node) ?? 0, low.get(target) ?? 0));
      } else if (onStack.has(target)) {
        low.set(node, Math.min(low.get(node) ?? 0, index.get(target) ?? 0));
      }
    }
    if (low.get(node) !== index.get(node)) return;
    const group: string[] = [];
    for (;;) {
      const member = stack.pop() as string;
      onStack.delete(member);
      group.push(member);
      if (member === node) break;
    }
    if (group.length > 1) groups.push(group.sort());
  };
  for (const node of [...graph.keys()].sort()) if (!index.has(node)) visit(node);
  return groups;
}
