/**
 * Routines paused for auth: those whose credentials kept failing until the routine paused
 * itself (store/sql/record-auth-outcome.ts writes the auth error's code in `paused_code`).
 * They are told apart from other pauses because running them again cannot help until the
 * login is fixed: `loopd run` refuses them (unless forced) and `loopd doctor` lists them with
 * the command that fixes each one.
 */

/** Auth pauses carry the auth error's code: LOOPD_AUTH_EXPIRED, LOOPD_AUTH_MISSING. */
export function isAuthPause(pausedCode: string | null | undefined): boolean {
  return pausedCode?.startsWith("LOOPD_AUTH_") ?? false;
}

/** What puts a harness's credentials right, for hints. */
const LOGIN_FIX: Readonly<Record<string, string>> = {
  claude: "run `claude auth login` (or replace ANTHROPIC_API_KEY)",
  codex: "run `codex login` (or replace OPENAI_API_KEY)",
  gemini: "run `gemini` and sign in with Google (or replace GEMINI_API_KEY)",
  opencode: "run `opencode auth login` (or replace the provider's API key)",
  builtin: "replace ANTHROPIC_API_KEY or OPENAI_API_KEY in loopd's environment",
};

export function loginFix(harness: string): string {
  return LOGIN_FIX[harness] ?? `log in again with ${harness}'s CLI or replace its API key`;
}

/** The hint for a routine paused for auth: the fix, the resume, and the way to run it anyway. */
export function pausedForAuthHint(routine: string, harness: string): string {
  return `Fix the login: ${loginFix(harness)}; then \`loopd resume ${routine}\`. To run it once anyway: \`loopd run ${routine} --force\`.`;
}
