/**
 * `sandbox:` — how a run is confined from outside (bubblewrap on Linux; harness/sandbox/).
 * Written per routine or as the global default, as a word (`off | on | required`) or an object
 * with extra allowances. Pure: the schema and the rule that picks a run's effective setting.
 *
 * | routine      | global        | harness          | effective            |
 * | ------------ | ------------- | ---------------- | -------------------- |
 * | set          | any           | any              | the routine's        |
 * | unset        | set           | any              | the global one       |
 * | unset        | unset         | agent CLI        | on                   |
 * | unset        | unset         | builtin          | on                   |
 * | unset        | unset         | shell            | off                  |
 *
 * The builtin harness is an agent like the CLIs (its bash commands run in the profile, its
 * file tools are path-checked in loopd's process). A shell routine runs the user's own command,
 * not a model's, so it stays unconfined unless its routine (or the global default) says `on`.
 *
 * A routine's object form is merged over the global one field by field (allow-lists are
 * added, `network: all` wins), so a global `allowRead` is not lost by setting `mode` alone.
 */
import { z } from "zod";

export const SANDBOX_MODES = ["off", "on", "required"] as const;
export type SandboxMode = (typeof SANDBOX_MODES)[number];

/** The normalised setting: what the engine hands the harness layer. */
export interface SandboxSetting {
  mode: SandboxMode;
  /** Extra absolute paths the run may write (besides its worktree and a private /tmp). */
  allowWrite: string[];
  /** Extra absolute paths the run may read. */
  allowRead: string[];
  /** Hosts reachable through the filtering proxy (`*.example.com` allowed), or every host. */
  network: string[] | "all";
}

/** Harnesses that get `on` when nothing is set: the agents (the CLIs loopd spawns, its builtin one). */
export const SANDBOXED_BY_DEFAULT: ReadonlySet<string> = new Set([
  "claude",
  "codex",
  "gemini",
  "opencode",
  "builtin",
]);

const absolutePath = z
  .string()
  .min(1)
  .refine((path) => path.startsWith("/") || path.startsWith("~/"), {
    error: "an absolute path (or ~/…)",
  });

const host = z
  .string()
  .regex(/^(\*\.)?[A-Za-z0-9.-]+(:\d{1,5})?$/, { error: "a host name (`github.com`, `*.example.com`)" });

export const sandboxObjectSchema = z.strictObject({
  mode: z.enum(SANDBOX_MODES).optional().meta({ description: "off | on | required (default on)." }),
  allowWrite: z
    .array(absolutePath)
    .optional()
    .meta({ description: "Extra paths the run may write (its worktree and a private /tmp always)." }),
  allowRead: z.array(absolutePath).optional().meta({ description: "Extra paths the run may read." }),
  network: z
    .union([z.literal("all"), z.array(host)])
    .optional()
    .meta({
      description:
        "Hosts the run may reach through loopd's filtering proxy (its model endpoint and its git remotes always), or `all` for no network confinement.",
    }),
});

export const sandboxSchema = z.union([z.enum(SANDBOX_MODES), sandboxObjectSchema]).meta({
  description:
    "Confine the run from outside (Linux: bubblewrap): its worktree writable, a synthetic HOME with only the harness's own config, no other network than its model and allowed hosts. on = confine when possible, warn otherwise; required = refuse to run unconfined; off. Default: on for agents (the CLIs and builtin), off for shell commands.",
});

export type SandboxConfig = z.infer<typeof sandboxSchema>;

/** The global `sandbox:` section: the routines' default, and where bubblewrap is. */
export const sandboxSettingsSchema = z
  .union([
    z.enum(SANDBOX_MODES),
    sandboxObjectSchema.extend({
      bwrap: z.string().min(1).optional().meta({
        description:
          "The bubblewrap binary (default `bwrap` on the daemon's PATH; env LOOPD_BWRAP overrides).",
      }),
    }),
  ])
  .meta({
    description: "Every routine's default `sandbox` (a routine's own setting wins, merged field by field).",
  });

export type SandboxSettings = z.infer<typeof sandboxSettingsSchema>;

/** The bubblewrap binary the global section names, if any. */
export function bwrapSetting(global: SandboxSettings | undefined): string | null {
  return typeof global === "object" && global.bwrap !== undefined ? global.bwrap : null;
}
type SandboxObject = z.infer<typeof sandboxObjectSchema>;

function asObject(config: SandboxConfig | SandboxSettings | undefined): SandboxObject {
  if (config === undefined) return {};
  return typeof config === "string" ? { mode: config } : config;
}

/** The effective setting of a run (table in the header). */
export function effectiveSandbox(
  routine: SandboxConfig | undefined,
  global: SandboxSettings | undefined,
  harness: string,
): SandboxSetting {
  const own = asObject(routine);
  const base = asObject(global);
  const fallback: SandboxMode = SANDBOXED_BY_DEFAULT.has(harness) ? "on" : "off";
  const mode = own.mode ?? base.mode ?? fallback;
  const network =
    own.network === "all" || base.network === "all"
      ? "all"
      : unique([...(base.network ?? []), ...(own.network ?? [])]);
  return {
    mode,
    allowWrite: unique([...(base.allowWrite ?? []), ...(own.allowWrite ?? [])]),
    allowRead: unique([...(base.allowRead ?? []), ...(own.allowRead ?? [])]),
    network,
  };
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
