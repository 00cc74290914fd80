/**
 * A routine's trigger in words, described here in the browser (the same describer as the CLI,
 * src/domain/trigger-words.ts) so the zone is left out exactly when it is the viewer's.
 */
import { describeTrigger } from "../../src/domain/trigger-words.js";
import type { RoutineView } from "./types.js";

const VIEWER_ZONE = Intl.DateTimeFormat().resolvedOptions().timeZone;

export function triggerWords(routine: Pick<RoutineView, "triggerSpec">): string {
  return describeTrigger(routine.triggerSpec, { viewerTimeZone: VIEWER_ZONE });
}
