/** `loopd init`: write the commented example loopd.yaml. */
import { writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { EXAMPLE_CONFIG } from "../config/example.js";
import { LoopdError } from "../domain/errors.js";

export async function writeExampleConfig(file: string, options: { force: boolean }): Promise<string> {
  const path = resolve(file);
  try {
    await writeFile(path, EXAMPLE_CONFIG, { flag: options.force ? "w" : "wx" });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") {
      throw new LoopdError("LOOPD_CONFIG_EXISTS", `${file} already exists`);
    }
    throw new LoopdError("LOOPD_FILE_WRITE_FAILED", `cannot write ${file}: ${(error as Error).message}`);
  }
  return path;
}
