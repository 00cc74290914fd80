/** `loopd serve -f`: loopd.yaml applied again whenever it changes, without a restart. */
import { watch } from "node:fs";
import { basename, dirname, resolve } from "node:path";
import { type ApplyResult, applyConfig } from "../app/apply-config.js";
import type { Store } from "../store/store.js";

export type ConfigWatchEvent =
  | { type: "applied"; result: ApplyResult }
  | { type: "apply-failed"; error: unknown };

/** Re-applies the file when it changes (debounced: editors write in several steps). */
export function watchConfig(
  file: string,
  store: Store,
  onApplied: () => void,
  onEvent: (event: ConfigWatchEvent) => void,
): () => void {
  let timer: NodeJS.Timeout | undefined;
  let applying = Promise.resolve();
  const reapply = () => {
    applying = applying.then(async () => {
      try {
        const result = await applyConfig(store, { file, dryRun: false, prune: false });
        onEvent({ type: "applied", result });
        onApplied();
      } catch (error) {
        onEvent({ type: "apply-failed", error });
      }
    });
  };
  // Watch the folder, not the file: editors replace files on save, which ends a file watch.
  const path = resolve(file);
  const watcher = watch(dirname(path), (_event, changed) => {
    if (changed !== null && changed !== basename(path)) return;
    clearTimeout(timer);
    timer = setTimeout(reapply, 150);
  });
  return () => {
    clearTimeout(timer);
    watcher.close();
  };
}
