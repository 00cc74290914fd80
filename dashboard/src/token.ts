/**
 * The API token. `loopd open` (and the URL `loopd serve` prints) put it in the fragment,
 * `#token=…`, so it never reaches a server log; we move it to localStorage and drop it from
 * the address bar so a shared screenshot or copied URL does not leak it.
 */
const KEY = "loopd.token";

export function readToken(): string | null {
  try {
    return localStorage.getItem(KEY);
  } catch {
    return null; // storage can be disabled (private windows, strict settings)
  }
}

export function saveToken(token: string): void {
  try {
    localStorage.setItem(KEY, token.trim());
  } catch {
    // nothing to do: requests will fail with 401 and the token screen shows again
  }
}

/** Takes `#token=…` out of the URL (keeping any route after it) and stores it; true if it did. */
export function adoptTokenFromFragment(): boolean {
  const match = /^#token=([^&]*)(?:&(.*))?$/.exec(window.location.hash);
  if (!match) return false;
  saveToken(decodeURIComponent(match[1] ?? ""));
  const rest = match[2] ?? "";
  const hash = rest.startsWith("/") ? `#${rest}` : "#/";
  window.history.replaceState(null, "", `${window.location.pathname}${window.location.search}${hash}`);
  return true;
}
