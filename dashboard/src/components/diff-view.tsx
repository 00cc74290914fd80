/** The run's changes as a unified diff, added and removed lines coloured. */
import { useEffect, useState } from "react";
import { api } from "../api.js";
import { ErrorBox } from "./error-box.js";

export function DiffView({
  runId,
  inline,
  refreshKey,
}: {
  runId: number;
  inline?: string;
  refreshKey: string;
}) {
  const [diff, setDiff] = useState<string | undefined>(inline || undefined);
  const [error, setError] = useState<Error>();

  // biome-ignore lint/correctness/useExhaustiveDependencies: refreshKey re-fetches once the run has moved on
  useEffect(() => {
    if (inline) {
      setDiff(inline);
      return;
    }
    let current = true;
    api.runDiff(runId).then(
      (text) => current && setDiff(text),
      (failure: Error) => current && setError(failure),
    );
    return () => {
      current = false;
    };
  }, [runId, inline, refreshKey]);

  if (error) return <ErrorBox error={error} />;
  if (diff === undefined) return <p className="muted">Loading diff…</p>;
  if (diff.trim() === "") return <p className="muted">No changes.</p>;
  return (
    <pre className="diff">
      {diff.split("\n").map((line, index) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: diff lines have no identity besides their position
        <div key={index} className={diffClass(line)}>
          {line || " "}
        </div>
      ))}
    </pre>
  );
}

function diffClass(line: string): string | undefined {
  if (line.startsWith("+++") || line.startsWith("---") || line.startsWith("diff ")) return "diff-file";
  if (line.startsWith("@@")) return "diff-hunk";
  if (line.startsWith("+")) return "diff-add";
  if (line.startsWith("-")) return "diff-del";
  return undefined;
}
