/**
 * Reads loopd.yaml and validates it. Every problem is reported with the file, the field path
 * (`routines[2].cron`) and the line, so a person or an agent can go straight to it.
 * What is not a config at all is refused before the schema sees it: a file over
 * MAX_CONFIG_BYTES, bytes that are not UTF-8 text (a binary file can parse as YAML with no
 * routines, and applying it would pause every routine), and documents whose aliases expand
 * past yaml's `maxAliasCount` (a "billion laughs" bomb).
 */
import { readFile, stat } from "node:fs/promises";
import { dirname, relative, resolve } from "node:path";
import { isMap, isPair, isScalar, LineCounter, type Node, parseDocument } from "yaml";
import type { z } from "zod";
import { type Config, configSchema } from "../domain/config-schema.js";
import { LoopdError } from "../domain/errors.js";
import { closestName, knownKeysAt } from "./schema-keys.js";

/** Far above any hand-written loopd.yaml; a bigger file is a mistake or an attack. */
export const MAX_CONFIG_BYTES = 4 * 1024 * 1024;
/** yaml's default: more alias expansions than this in one document is a resource attack. */
const MAX_ALIAS_COUNT = 100;
export interface LoadedConfig {
  /** Absolute path of the file. */
  path: string;
  /** Folder holding the file: default repo and base for relative paths. */
  dir: string;
  config: Config;
}

export interface ConfigIssue {
  path: string;
  message: string;
  line?: number;
  column?: number;
  hint?: string;
}

export async function loadConfigFile(file: string): Promise<LoadedConfig> {
  const path = resolve(file);
  let bytes: Buffer;
  try {
    const size = (await stat(path)).size;
    if (size > MAX_CONFIG_BYTES) throw tooLarge(displayPath(path), size);
    bytes = await readFile(path);
  } catch (error) {
    if (error instanceof LoopdError) throw error;
    if ((error as NodeJS.ErrnoException).code === "ENOENT") {
      throw new LoopdError("LOOPD_CONFIG_NOT_FOUND", `${displayPath(path)} does not exist`);
    }
    throw new LoopdError(
      "LOOPD_CONFIG_INVALID",
      `${displayPath(path)} cannot be read: ${(error as Error).message}`,
      {
        hint: "Check the file's permissions.",
      },
    );
  }
  return {
    path,
    dir: dirname(path),
    config: parseConfigText(decodeText(bytes, displayPath(path)), displayPath(path)),
  };
}

function decodeText(bytes: Buffer, label: string): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw notText(label, "is not UTF-8 text");
  }
}

/** C0 controls other than tab, LF and CR, DEL, and the non-characters: never in a YAML file. */
function firstControlCharacter(text: string): number {
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    const control = code < 0x20 && code !== 0x09 && code !== 0x0a && code !== 0x0d;
    if (control || code === 0x7f || code === 0xfffe || code === 0xffff) return index;
  }
  return -1;
}

function tooLarge(label: string, size: number): LoopdError {
  return new LoopdError(
    "LOOPD_CONFIG_INVALID",
    `${label}: ${size} bytes is over the ${MAX_CONFIG_BYTES / 1024 / 1024} MiB limit of a config file`,
    {
      hint: "Check that -f names your loopd.yaml; split a generated config across several files.",
      details: { file: label, issues: [{ path: "(file)", message: `over ${MAX_CONFIG_BYTES} bytes` }] },
    },
  );
}

function notText(label: string, why: string): LoopdError {
  return new LoopdError("LOOPD_CONFIG_INVALID", `${label}: ${why}, so it is not a loopd.yaml`, {
    hint: "Check that -f names your loopd.yaml (a YAML text file); nothing was applied.",
    details: { file: label, issues: [{ path: "(file)", message: why }] },
  });
}

/** Parses and validates config text; `label` names the file in messages. */
export function parseConfigText(text: string, label: string): Config {
  if (text.length > MAX_CONFIG_BYTES) throw tooLarge(label, Buffer.byteLength(text));
  const control = firstControlCharacter(text);
  if (control >= 0) {
    const line = text.slice(0, control).split("\n").length;
    const code = text.charCodeAt(control).toString(16).toUpperCase().padStart(4, "0");
    throw notText(label, `holds a control character (U+${code}) on line ${line}`);
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const issues = doc.errors.map((error): ConfigIssue => {
      const at = lineCounter.linePos(error.pos[0]);
      return {
        path: "(yaml)",
        message: error.message.split("\n", 1)[0] ?? "syntax error",
        hint: "Fix the YAML syntax at that line (indentation, brackets, quotes).",
        ...lineAndColumn(at),
      };
    });
    throw configError(label, issues);
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) ?? {};
  } catch (error) {
    // yaml throws a ReferenceError for an alias bomb (and for an alias to nothing).
    throw new LoopdError(
      "LOOPD_CONFIG_INVALID",
      `${label}: (yaml): ${(error as Error).message.split("\n", 1)[0]}`,
      {
        hint: `Use fewer aliases (*name): at most ${MAX_ALIAS_COUNT} expansions per file.`,
        details: { file: label, issues: [{ path: "(yaml)", message: (error as Error).message }] },
      },
    );
  }
  const result = configSchema.safeParse(raw);
  if (result.success) return result.data;
  const issues = flattenIssues(result.error.issues).map((issue) =>
    describeIssue(issue, doc.contents, lineCounter),
  );
  throw configError(label, issues);
}

function configError(label: string, issues: ConfigIssue[]): LoopdError {
  const sorted = [...issues].sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  const first = sorted[0]!;
  const where = first.line !== undefined ? `${label}:${first.line}` : label;
  const more = sorted.length > 1 ? ` (and ${sorted.length - 1} more)` : "";
  return new LoopdError("LOOPD_CONFIG_INVALID", `${where}: ${first.path}: ${first.message}${more}`, {
    ...(first.hint ? { hint: first.hint } : {}),
    details: { file: label, issues: sorted },
  });
}

/**
 * A union reports "no branch matched" with each branch's issues. The useful ones come from the
 * branch whose shape matched (its issues are deeper than a type mismatch on the union itself).
 */
function flattenIssues(issues: readonly z.core.$ZodIssue[]): z.core.$ZodIssue[] {
  return issues.flatMap((issue) => {
    if (issue.code !== "invalid_union" || issue.errors.length === 0) return [issue];
    const branches = issue.errors.map((branch) =>
      branch.map((inner) => ({ ...inner, path: [...issue.path, ...inner.path] }) as z.core.$ZodIssue),
    );
    const shaped = branches.filter(
      (branch) =>
        !branch.some((inner) => inner.code === "invalid_type" && inner.path.length === issue.path.length),
    );
    if (shaped.length === 0) return [issue];
    return flattenIssues(shaped[0]!);
  });
}

function describeIssue(issue: z.core.$ZodIssue, root: unknown, lineCounter: LineCounter): ConfigIssue {
  const path = issue.path.filter((part): part is string | number => typeof part !== "symbol");
  if (issue.code === "unrecognized_keys") {
    const key = issue.keys[0] ?? "";
    const suggestion = closestName(key, knownKeysAt(path));
    const described: ConfigIssue = {
      path: formatPath(path),
      message:
        issue.keys.length === 1
          ? `unknown key "${key}"`
          : `unknown keys ${issue.keys.map((k) => `"${k}"`).join(", ")}`,
      ...lineAndColumn(locate(root, path, key, lineCounter)),
    };
    if (suggestion) described.hint = `Did you mean "${suggestion}"? \`loopd schema\` lists every key.`;
    return described;
  }
  const hint = issue.code === "custom" ? issue.params?.hint : undefined;
  return {
    path: formatPath(path),
    message: plainMessage(issue),
    ...lineAndColumn(locate(root, path, undefined, lineCounter)),
    ...(typeof hint === "string" ? { hint } : {}),
  };
}

function plainMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === "invalid_value" && issue.values.length > 0) {
    return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`;
  }
  if (issue.code === "invalid_union" && issue.message.startsWith("Invalid discriminator value. Expected ")) {
    return `must be one of ${issue.message.slice("Invalid discriminator value. Expected ".length).replaceAll("'", '"').replaceAll(" | ", ", ")}`;
  }
  return issue.message.replace(/^Invalid input: /, "");
}

/** `routines[2].notify.to` */
export function formatPath(path: ReadonlyArray<string | number>): string {
  if (path.length === 0) return "(root)";
  return path.reduce<string>((text, part) => {
    if (typeof part === "number") return `${text}[${part}]`;
    return text === "" ? part : `${text}.${part}`;
  }, "");
}

/** Finds the YAML node (or, for an unknown key, the key itself) a path points at. */
function locate(
  root: unknown,
  path: ReadonlyArray<string | number>,
  unknownKey: string | undefined,
  lineCounter: LineCounter,
): { line: number; col: number } | undefined {
  let node: unknown = root;
  let lastFound: Node | undefined = isNode(root) ? root : undefined;
  for (const part of path) {
    const next = child(node, part);
    if (next === undefined) break;
    node = next;
    if (isNode(next)) lastFound = next;
  }
  if (unknownKey !== undefined && isMap(node)) {
    const pair = node.items.find(
      (item) => isPair(item) && isScalar(item.key) && item.key.value === unknownKey,
    );
    if (pair && isNode(pair.key)) lastFound = pair.key;
  }
  const offset = lastFound?.range?.[0];
  return offset === undefined ? undefined : lineCounter.linePos(offset);
}

function child(node: unknown, part: string | number): unknown {
  if (node !== null && typeof node === "object" && "get" in node && typeof node.get === "function") {
    return (node as { get(key: unknown, keepScalar: boolean): unknown }).get(part, true);
  }
  return undefined;
}

function isNode(value: unknown): value is Node {
  return value !== null && typeof value === "object" && "range" in value;
}

function lineAndColumn(at: { line: number; col: number } | undefined): { line?: number; column?: number } {
  return at === undefined ? {} : { line: at.line, column: at.col };
}

function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel.startsWith("..") || rel === "" ? path : rel;
}
