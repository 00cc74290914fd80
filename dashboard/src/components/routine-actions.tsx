/** Run now / Pause / Resume for one routine; Run now opens the new run. */
import { useState } from "react";
import { api } from "../api.js";
import { href, navigate } from "../route.js";
import type { RoutineView } from "../types.js";
import { ErrorBox } from "./error-box.js";

export function RoutineActions({ routine, onChanged }: { routine: RoutineView; onChanged: () => void }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<Error>();

  const act = async (action: () => Promise<unknown>) => {
    setBusy(true);
    setError(undefined);
    try {
      await action();
      onChanged();
    } catch (failure) {
      setError(failure as Error);
    } finally {
      setBusy(false);
    }
  };

  const runNow = () =>
    act(async () => {
      const { runId } = await api.runNow(routine.name);
      navigate(href.run(runId));
    });

  return (
    <div>
      <div className="actions">
        <button type="button" data-testid="run-now" disabled={busy} onClick={runNow}>
          Run now
        </button>
        {routine.state === "paused" ? (
          <button
            type="button"
            data-testid="resume"
            disabled={busy}
            onClick={() => act(() => api.resume(routine.name))}
          >
            Resume
          </button>
        ) : (
          <button
            type="button"
            className="secondary"
            data-testid="pause"
            disabled={busy}
            onClick={() => act(() => api.pause(routine.name))}
          >
            Pause
          </button>
        )}
      </div>
      {error && <ErrorBox error={error} />}
    </div>
  );
}
