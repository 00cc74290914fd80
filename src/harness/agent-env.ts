/**
 * What a run's process may see. Agents and shell commands get an allow-listed environment
 * (PATH, HOME, locale, proxies and certificates, the harness's own keys, the routine's
 * declared secrets and env) instead of the daemon's whole environment, which may hold
 * unrelated credentials (cloud keys, the GitHub webhook secret, the database URL). A routine
 * opts back into the whole environment with `inheritEnv: true`. Either way, declared secrets
 * and the values of secret-named variables it gets are collected so that everything stored
 * or sent (events, summary, error, notifications) can be redacted.
 */

const COMMON_KEYS: readonly (string | RegExp)[] = [
  "PATH",
  "HOME",
  "USER",
  "LOGNAME",
  "SHELL",
  "TERM",
  "TMPDIR",
  "TZ",
  "LANG",
  "LANGUAGE",
  /^LC_/,
  /^XDG_(CONFIG|DATA|CACHE|STATE|RUNTIME)_(HOME|DIR)$/,
  "SSL_CERT_FILE",
  "SSL_CERT_DIR",
  "NODE_EXTRA_CA_CERTS",
  /^(HTTPS?|NO|ALL)_PROXY$/i,
  // git identity and ssh agent, so agents can commit and fetch like the user would.
  /^GIT_(AUTHOR|COMMITTER)_(NAME|EMAIL)$/,
  "SSH_AUTH_SOCK",
];

const SECRET_NAME = /(KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIALS?|AUTH)/i;
/** Shorter values are too likely to appear by chance in ordinary output. */
const MIN_SECRET_LENGTH = 8;

export interface AgentEnvironment {
  env: Record<string, string>;
  /** Name → value of everything that must not be stored in clear. */
  secrets: Map<string, string>;
}

export function agentEnvironment(options: {
  base: NodeJS.ProcessEnv;
  harnessKeys: readonly (string | RegExp)[];
  /** The routine's declared secrets (names), always passed and always redacted. */
  secretNames: readonly string[];
  /** The routine's literal env. */
  env: Readonly<Record<string, string>>;
  /** LOOPD_* run context. */
  context: Readonly<Record<string, string>>;
  /** `inheritEnv: true`: pass the daemon's whole environment (secret-named values still redacted). */
  inheritAll?: boolean;
}): AgentEnvironment {
  const allowed = options.inheritAll ? [/./] : [...COMMON_KEYS, ...options.harnessKeys];
  const env: Record<string, string> = {};
  const secrets = new Map<string, string>();
  for (const [key, value] of Object.entries(options.base)) {
    if (value === undefined) continue;
    const declared = options.secretNames.includes(key);
    if (!declared && !allowed.some((pattern) => matches(pattern, key))) continue;
    env[key] = value;
    if (declared || SECRET_NAME.test(key)) secrets.set(key, value);
  }
  for (const [key, value] of Object.entries(options.env)) {
    if (SECRET_NAME.test(key)) secrets.set(key, value);
  }
  Object.assign(env, options.env, options.context);
  return { env, secrets };
}

/** Whether a variable's name says it holds a secret (`*_KEY`, `*TOKEN*`, `*PASSWORD*`, …). */
export function isSecretName(name: string): boolean {
  return SECRET_NAME.test(name);
}

function matches(pattern: string | RegExp, key: string): boolean {
  return typeof pattern === "string" ? pattern === key : pattern.test(key);
}

/** Replaces every secret value in text with `[redacted:NAME]`. */
export function createRedactor(secrets: ReadonlyMap<string, string>): (text: string) => string {
  const entries = [...secrets]
    .filter(([, value]) => value.length >= MIN_SECRET_LENGTH)
    // Longest first, so a secret containing another is replaced whole.
    .sort((a, b) => b[1].length - a[1].length);
  if (entries.length === 0) return (text) => text;
  return (text) => {
    let out = text;
    for (const [name, value] of entries) {
      if (out.includes(value)) out = out.split(value).join(`[redacted:${name}]`);
      // Adapters shorten long texts ("…") before loopd sees them: a cut secret is still a secret.
      if (out.includes("…")) out = redactCutPrefix(out, name, value);
    }
    return out;
  };
}

function redactCutPrefix(text: string, name: string, value: string): string {
  for (let length = value.length - 1; length >= MIN_SECRET_LENGTH; length--) {
    const cut = `${value.slice(0, length)}…`;
    if (text.includes(cut)) return text.split(cut).join(`[redacted:${name}]…`);
  }
  return text;
}
