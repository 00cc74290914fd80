/** Waiting on a condition instead of sleeping a fixed time: polls until it holds or the time is up. */
export async function waitUntil(
  condition: () => boolean | Promise<boolean>,
  what: string,
  options: { timeoutMs?: number; everyMs?: number } = {},
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 15_000);
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, options.everyMs ?? 50));
  }
}
