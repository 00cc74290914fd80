/** The latest runs across routines, live, with a status filter. */
import { useState } from "react";
import { RUN_STATUSES } from "../../../src/domain/run-status.js";
import { api } from "../api.js";
import { EmptyState } from "../components/empty-state.js";
import { Loaded } from "../components/loaded.js";
import { RunsTable } from "../components/runs-table.js";
import { useLiveUpdates } from "../hooks/use-live-updates.js";
import { useResource } from "../hooks/use-resource.js";

const STATUSES = ["", ...RUN_STATUSES];

export function RunsPage() {
  const [status, setStatus] = useState("");
  const runs = useResource(() => api.runs({ limit: 50, ...(status ? { status } : {}) }), status);
  useLiveUpdates(runs.reload);
  return (
    <main>
      <div className="page-head">
        <h1>Runs</h1>
        <label>
          Status{" "}
          <select value={status} onChange={(event) => setStatus(event.target.value)}>
            {STATUSES.map((value) => (
              <option key={value} value={value}>
                {value === "" ? "any" : value.replace("_", " ")}
              </option>
            ))}
          </select>
        </label>
      </div>
      <Loaded resource={runs}>
        {(list) =>
          list.length === 0 ? (
            <EmptyState title={status ? `No ${status.replace("_", " ")} runs` : "No runs yet"}>
              Routines run on their trigger; press <strong>Run now</strong> on the Routines page, or run{" "}
              <code>loopd run &lt;name&gt;</code>.
            </EmptyState>
          ) : (
            <RunsTable runs={list} />
          )
        }
      </Loaded>
    </main>
  );
}
