/**
 * macOS: the same profile as a `sandbox-exec -p <profile>` SBPL document (Seatbelt). Pure and
 * unit-tested for its structure on Linux; not exercised in CI (no macOS runner), so treat it
 * as a starting point there. Rules, as with bubblewrap: read the system, the tools and the
 * harness's config; write only the worktree, the extra writable paths and the temp dirs; no
 * other file of HOME; network only to loopback ports (the forwarded model endpoint, the proxy).
 */
import type { SandboxProfile } from "./profile.js";

/** SBPL string literal: backslashes and quotes escaped. */
function literal(path: string): string {
  return `"${path.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}

export function sbplProfile(
  profile: SandboxProfile,
  options: { tempDirs: string[]; loopbackPorts: number[] },
): string {
  const readable = profile.binds.filter((bind) => !bind.writable).map((bind) => bind.source);
  const writable = [
    profile.cwd,
    ...options.tempDirs,
    ...profile.binds.filter((bind) => bind.writable).map((bind) => bind.source),
  ];
  const lines = [
    "(version 1)",
    "(deny default)",
    '(import "system.sb")',
    "(allow process-fork)",
    "(allow process-exec)",
    "(allow signal (target same-sandbox))",
    "(allow sysctl-read)",
    "(allow mach-lookup)",
    "(allow ipc-posix-shm)",
    ";; the system and the tools, read-only",
    '(allow file-read* (subpath "/usr") (subpath "/bin") (subpath "/sbin") (subpath "/System") (subpath "/Library") (subpath "/opt") (subpath "/private/etc") (subpath "/dev") (literal "/"))',
    ...readable.map((path) => `(allow file-read* (subpath ${literal(path)}))`),
    ";; HOME: nothing but what was listed above",
    `(deny file-read* (subpath ${literal(profile.home.path)}))`,
    ...readable
      .filter((path) => path.startsWith(`${profile.home.path}/`))
      .map((path) => `(allow file-read* (subpath ${literal(path)}))`),
    ";; the worktree, the temp dirs and the extra writable paths",
    ...writable.map((path) => `(allow file-read* file-write* (subpath ${literal(path)}))`),
    '(allow file-write* (literal "/dev/null") (literal "/dev/tty"))',
  ];
  if (profile.network === null) lines.push("(allow network*)");
  else {
    lines.push(";; network: loopback only (the model's endpoint, loopd's filtering proxy)");
    for (const port of options.loopbackPorts)
      lines.push(`(allow network-outbound (remote ip "localhost:${port}"))`);
  }
  return `${lines.join("\n")}\n`;
}
