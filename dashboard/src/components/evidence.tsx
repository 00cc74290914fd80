/** What a check looked at and saw, collapsed: it can be long (logs, API responses). */

export function Evidence({ evidence }: { evidence: Record<string, unknown> }) {
  if (Object.keys(evidence).length === 0) return null;
  return (
    <details className="evidence">
      <summary>Evidence</summary>
      <pre>{JSON.stringify(evidence, null, 2)}</pre>
    </details>
  );
}
