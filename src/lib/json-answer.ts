/**
 * A model's answer that must be JSON: the object alone, or fenced as ```json (models fence
 * by habit). Prose around it is not accepted — the caller reports it, never guesses.
 */
const FENCED = /^```(?:json)?\s*\n([\s\S]*?)\n```$/i;

export function parseJsonAnswer(text: string): { ok: true; value: unknown } | { ok: false } {
  const trimmed = text.trim();
  const body = FENCED.exec(trimmed)?.[1] ?? trimmed;
  try {
    return { ok: true, value: JSON.parse(body) };
  } catch {
    return { ok: false };
  }
}
