/** An error in one line for a log or a stored reason; a wrapped cause (fetch's "fetch failed") is named too. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) {
    // fetch wraps the socket error ("fetch failed"); the cause says what actually happened.
    const cause = error.cause instanceof Error ? `: ${error.cause.message}` : "";
    return `${error.message}${cause}`;
  }
  return String(error);
}
