/**
 * Waiting on a condition instead of sleeping a fixed time: polls until it holds or the time
 * is up, and then fails saying what never held (and, given `state`, what was seen instead).
 * For "nothing happened" assertions, wait on a positive signal that the code under test did
 * look (an engine's `idle` event, a pass counter), then assert nothing ran.
 */
export async function waitUntil(
  condition: () => boolean | Promise<boolean>,
  what: string,
  options: { timeoutMs?: number; everyMs?: number; state?: () => unknown } = {},
): Promise<void> {
  const timeoutMs = options.timeoutMs ?? 15_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) {
      const seen = options.state ? `; last seen: ${describe(await options.state())}` : "";
      throw new Error(`never held within ${timeoutMs} ms: ${what}${seen}`);
    }
    await new Promise((resolve) => setTimeout(resolve, options.everyMs ?? 50));
  }
}

function describe(value: unknown): string {
  if (typeof value === "string") return value;
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

/** Like `waitUntil`, for a value: polls `find` until it returns something, and returns it. */
export async function waitFor<T>(
  find: () => T | undefined | Promise<T | undefined>,
  what: string,
  options: { timeoutMs?: number; everyMs?: number; state?: () => unknown } = {},
): Promise<T> {
  let found: T | undefined;
  await waitUntil(
    async () => {
      found = await find();
      return found !== undefined;
    },
    what,
    options,
  );
  return found as T;
}
