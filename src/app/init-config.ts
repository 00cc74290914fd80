/**
 * `loopd init`: write the commented example loopd.yaml, and beside it `loopd.schema.json`,
 * the JSON Schema its `$schema` comment names. A schema file next to the config exists
 * however loopd was installed (a dependency, `npm link`, a global install), so editors
 * complete and check keys in any folder; it is this version's schema (`loopd schema`).
 */
import { readFile, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { isMap, isSeq, parseDocument } from "yaml";
import { EXAMPLE_CONFIG, SCHEMA_FILE } from "../config/example.js";
import { configJsonSchema } from "../domain/config-schema.js";
import { LoopdError } from "../domain/errors.js";
import { ciHealthExample } from "../domain/templates/ci-health.js";
import { findTemplate, TEMPLATES } from "../domain/templates/index.js";
import { detectTestSetup } from "./ci-health-init.js";

/** Returns the absolute paths of the config and of the schema beside it. */
export async function writeExampleConfig(
  file: string,
  options: { force: boolean },
): Promise<{ path: string; schema: string }> {
  const path = resolve(file);
  try {
    await writeFile(path, EXAMPLE_CONFIG, { flag: options.force ? "w" : "wx" });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") {
      throw new LoopdError("LOOPD_CONFIG_EXISTS", `${file} already exists`);
    }
    throw new LoopdError("LOOPD_FILE_WRITE_FAILED", `cannot write ${file}: ${(error as Error).message}`);
  }
  return { path, schema: await writeSchema(path) };
}

/**
 * `loopd init --template <name>`: a commented loopd.yaml holding the template's routine, or,
 * when the file exists (and no --force), that routine appended to its `routines:`.
 */
export async function writeTemplateConfig(
  file: string,
  name: string,
  options: { force: boolean },
): Promise<{ path: string; schema: string; appended: boolean; chose?: string }> {
  const template = findTemplate(name);
  if (!template?.ready) {
    const ready = TEMPLATES.filter((t) => t.ready).map((t) => t.name);
    throw new LoopdError(
      "LOOPD_TEMPLATE_UNKNOWN",
      template ? `template ${name} is not built yet` : `unknown template "${name}"`,
      { hint: `Built-in templates: ${ready.join(", ")} (\`loopd templates\` describes them).` },
    );
  }
  const path = resolve(file);
  // ci-health's test command is the repository's own: found beside the config (the routine's repo).
  const setup = name === "ci-health" ? detectTestSetup(dirname(path)) : null;
  const example = setup
    ? ciHealthExample({ ...setup, comment: setup.chose.split(":")[0] ?? "" })
    : template.example;
  const existing = options.force ? null : await readFile(path, "utf8").catch(() => null);
  const intro = setup
    ? "# ci-health runs the tests in this folder (the routine's repo) and reports flaky and broken ones."
    : undefined;
  const text = existing === null ? templateConfig(example, intro) : appendRoutine(existing, example, file);
  try {
    await writeFile(path, text);
  } catch (error) {
    throw new LoopdError("LOOPD_FILE_WRITE_FAILED", `cannot write ${file}: ${(error as Error).message}`);
  }
  return {
    path,
    schema: await writeSchema(path),
    appended: existing !== null,
    ...(setup ? { chose: setup.chose } : {}),
  };
}

function templateConfig(
  example: string,
  intro = "# Fill in the repository (`repo:` under params), give `loopd serve` a GitHub token (GITHUB_TOKEN), then `loopd apply`.",
): string {
  return [
    "# loopd.yaml — routines loopd keeps running for you.",
    intro,
    "# `loopd show <routine> --expanded` prints the plain routine a template stands for.",
    `# yaml-language-server: $schema=./${SCHEMA_FILE}`,
    "",
    "routines:",
    indentEntry(example),
  ].join("\n");
}

/** The routine as one `routines:` entry: `  - ` before its first line, its other lines indented to match. */
function indentEntry(example: string): string {
  return example
    .trimEnd()
    .split("\n")
    .map((line, index) => (index === 0 ? `  - ${line}` : line === "" ? "" : `    ${line}`))
    .join("\n")
    .concat("\n");
}

/** Adds the routine to an existing file, keeping its comments; a routine of that name is refused. */
function appendRoutine(existing: string, example: string, file: string): string {
  const doc = parseDocument(existing);
  const entry = parseDocument(example);
  const name = String(entry.get("name"));
  const routines = doc.get("routines", true);
  if (doc.errors.length > 0 || (routines !== undefined && routines !== null && !isSeq(routines))) {
    throw new LoopdError("LOOPD_CONFIG_INVALID", `${file} is not a loopd.yaml with a \`routines:\` list`, {
      hint: "Fix the file, or write the template to a new one with `-f <file>`.",
    });
  }
  if (isSeq(routines) && routines.items.some((item) => isMap(item) && item.get("name") === name)) {
    throw new LoopdError("LOOPD_CONFIG_EXISTS", `${file} already has a routine named ${name}`, {
      hint: "Edit that routine, or rename it before adding the template again.",
    });
  }
  if (isSeq(routines)) {
    routines.items.push(entry.contents as never);
    return doc.toString({ lineWidth: 0 });
  }
  return `${existing.trimEnd()}\n\nroutines:\n${indentEntry(example)}`;
}

async function writeSchema(path: string): Promise<string> {
  // Generated, so always rewritten: it follows the loopd that wrote the config.
  const schema = join(dirname(path), SCHEMA_FILE);
  try {
    await writeFile(schema, `${JSON.stringify(configJsonSchema(), null, 2)}\n`);
  } catch (error) {
    throw new LoopdError("LOOPD_FILE_WRITE_FAILED", `cannot write ${schema}: ${(error as Error).message}`);
  }
  return schema;
}
