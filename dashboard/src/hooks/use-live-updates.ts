/**
 * Calls `onChange` when a run or routine changes (all of them, or one routine's), batching
 * bursts: a catch-up pass can start dozens of runs in one second.
 */
import { useEffect, useRef } from "react";
import { type Change, followChanges } from "../sse.js";

const BATCH_MS = 400;

export function useLiveUpdates(onChange: () => void, routine?: string): void {
  const onChangeRef = useRef(onChange);
  onChangeRef.current = onChange;
  useEffect(() => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const close = followChanges((change) => {
      if (routine !== undefined && routineOf(change) !== routine) return;
      timer ??= setTimeout(() => {
        timer = undefined;
        onChangeRef.current();
      }, BATCH_MS);
    });
    return () => {
      clearTimeout(timer);
      close();
    };
  }, [routine]);
}

function routineOf(change: Change): string {
  switch (change.kind) {
    case "run":
      return change.run.routine;
    case "routine":
      return change.routine.name;
    case "routine-removed":
      return change.name;
  }
}
