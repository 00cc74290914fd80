/**
 * A run's confinement as data (`SandboxProfile`), and the bubblewrap command line that
 * enforces it on Linux (`bwrapArgs`, pure, table-tested). sandbox.ts gathers the profile from
 * the machine (which dirs exist, where the CLI lives, the worktree's git dirs); this file only
 * decides what those facts become.
 *
 * The confined process sees: read-only system dirs and the tools' install dirs; a private
 * tmpfs /tmp; a synthetic HOME (a per-attempt dir) holding only the harness's own config,
 * bound from the real HOME; its worktree and the extra writable paths read-write; a new
 * /proc (PID namespace: loopd and other runs are invisible), a minimal /dev, no IPC, UTS or
 * cgroup namespace of the host; with a filtered network, its own network namespace with only
 * loopback, where the launcher (launcher.ts) forwards the allowed ports and the proxy to unix
 * sockets bound in from loopd.
 */

export interface SandboxBind {
  /** The path outside. */
  source: string;
  /** Where it appears inside (default: the same path). */
  dest?: string;
  writable: boolean;
  /** Skip it when the source does not exist (instead of failing the run). */
  optional?: boolean;
}

export interface SandboxNetwork {
  /** The launcher: node binary, script and its config inside the sandbox. */
  node: string;
  script: string;
  config: string;
}

export interface SandboxProfile {
  /** The run's working directory: writable. */
  cwd: string;
  /** HOME inside (the real HOME's path) and the synthetic dir mounted there. */
  home: { path: string; source: string };
  /** System and tool dirs, the harness's config, the worktree's git dirs, extra paths; in order. */
  binds: SandboxBind[];
  /** Files replaced by an empty one (secrets in /etc). */
  masked: string[];
  /** null: the host's network (`sandbox.network: all`). */
  network: SandboxNetwork | null;
}

/** Read-only system dirs every run sees (the missing ones are skipped). */
export const SYSTEM_DIRS = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/opt"];

/** Secrets readable under /etc when loopd runs as root; hidden behind /dev/null. */
export const MASKED_FILES = ["/etc/shadow", "/etc/gshadow", "/etc/shadow-", "/etc/gshadow-", "/etc/sudoers"];

/** Where the per-attempt dir (launcher, its config, the sockets) appears inside. */
export const INSIDE_DIR = "/run/loopd-sandbox";

/** bubblewrap's arguments for a profile, ending with the command to run. */
export function bwrapArgs(profile: SandboxProfile, command: string, args: readonly string[]): string[] {
  const out = [
    "--die-with-parent",
    "--new-session",
    "--unshare-pid",
    "--unshare-ipc",
    "--unshare-uts",
    "--unshare-cgroup-try",
    ...(profile.network ? ["--unshare-net"] : []),
    "--proc",
    "/proc",
    "--dev",
    "/dev",
    "--tmpfs",
    "/tmp",
    "--tmpfs",
    "/run",
  ];
  for (const path of SYSTEM_DIRS) out.push("--ro-bind-try", path, path);
  for (const path of profile.masked) out.push("--ro-bind-try", "/dev/null", path);
  // HOME first, so the harness's config dirs and a worktree under HOME are mounted over it.
  out.push("--bind", profile.home.source, profile.home.path);
  for (const bind of profile.binds) {
    const flag = bind.writable ? "--bind" : "--ro-bind";
    out.push(bind.optional ? `${flag}-try` : flag, bind.source, bind.dest ?? bind.source);
  }
  out.push("--bind", profile.cwd, profile.cwd, "--chdir", profile.cwd);
  if (profile.network) {
    const { node, script, config } = profile.network;
    out.push("--", node, script, config, command, ...args);
  } else {
    out.push("--", command, ...args);
  }
  return out;
}
