/** A failed request as the server explained it: code, message and what to do about it. */
import { ApiError } from "../api.js";

export function ErrorBox({ error, onRetry }: { error: Error; onRetry?: () => void }) {
  const code = error instanceof ApiError ? error.code : "ERROR";
  const hint = error instanceof ApiError ? error.hint : null;
  return (
    <div className="error-box" role="alert">
      <div>
        <code className="error-code">{code}</code> {error.message}
      </div>
      {hint && <div className="hint">{hint}</div>}
      {onRetry && (
        <button type="button" onClick={onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}
