/** Reading a child's output line by line without keeping it: an execa transform that hands each line on. */

export function forwardLines(onLine: (line: string) => void) {
  // biome-ignore lint/correctness/useYield: yielding nothing is how a transform drops the line once forwarded
  return function* (chunk: unknown) {
    onLine(String(chunk));
  };
}
