/**
 * `loopd init`: write the commented example loopd.yaml, and beside it `loopd.schema.json`,
 * the JSON Schema its `$schema` comment names. A schema file next to the config exists
 * however loopd was installed (a dependency, `npm link`, a global install), so editors
 * complete and check keys in any folder; it is this version's schema (`loopd schema`).
 */
import { writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { EXAMPLE_CONFIG, SCHEMA_FILE } from "../config/example.js";
import { configJsonSchema } from "../domain/config-schema.js";
import { LoopdError } from "../domain/errors.js";

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
  // Generated, so always rewritten: it follows the loopd that wrote the config.
  const schema = join(dirname(path), SCHEMA_FILE);
  try {
    await writeFile(schema, `${JSON.stringify(configJsonSchema(), null, 2)}\n`);
  } catch (error) {
    throw new LoopdError("LOOPD_FILE_WRITE_FAILED", `cannot write ${schema}: ${(error as Error).message}`);
  }
  return { path, schema };
}
