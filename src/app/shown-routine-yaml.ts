/** A routine as `loopd show` prints its loopd.yaml; apart from routines.ts so `ls` loads no YAML writer. */
import { type RoutineYamlOptions, routineYaml } from "../domain/routine-yaml.js";
import type { PublicSpec } from "./views.js";

/** A shown routine as loopd.yaml: the hook secret stays in the store, its fingerprint stands in for it. */
export function shownRoutineYaml(shown: PublicSpec, options: RoutineYamlOptions): string {
  const { hook, ...rest } = shown;
  return routineYaml(
    {
      ...rest,
      ...(hook
        ? {
            hook: {
              ...(hook.secretFingerprint !== undefined ? { secret: `<${hook.secretFingerprint}>` } : {}),
              ...(hook.tokenEnv !== undefined ? { tokenEnv: hook.tokenEnv } : {}),
            },
          }
        : {}),
    },
    options,
  );
}
