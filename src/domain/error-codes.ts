/**
 * The registry of error codes. Codes are stable: scripts and agents match on them. Each code
 * says which CLI exit code it maps to (docs/errors.md: 1 run failed, 2 input, 3 not found,
 * 4 auth, 5 budget, 10 internal) and a default hint. docs/errors.md documents every entry;
 * a test keeps the two in step.
 */
export const EXIT = {
  ok: 0,
  runFailed: 1,
  input: 2,
  notFound: 3,
  auth: 4,
  budget: 5,
  internal: 10,
} as const;

interface ErrorCodeInfo {
  exitCode: number;
  hint: string;
  summary: string;
}

export const ERROR_CODES = {
  LOOPD_USAGE: {
    exitCode: EXIT.input,
    summary: "The command line could not be understood (unknown command or option, missing argument).",
    hint: "Run `loopd --help` or `loopd <command> --help` for usage.",
  },
  LOOPD_CONFIG_INVALID: {
    exitCode: EXIT.input,
    summary: "loopd.yaml (or a routine given over an interface) does not match the config schema.",
    hint: "Fix the field named in the message; `loopd schema` prints the full JSON Schema.",
  },
  LOOPD_CONFIG_NOT_FOUND: {
    exitCode: EXIT.input,
    summary: "The config file given to `loopd apply` (default ./loopd.yaml) does not exist.",
    hint: "Run `loopd init` to write an example loopd.yaml, or pass `-f <file>`.",
  },
  LOOPD_CONFIG_EXISTS: {
    exitCode: EXIT.input,
    summary: "`loopd init` would overwrite an existing file.",
    hint: "Pass `--force` to overwrite it, or `-f <file>` to write somewhere else.",
  },
  LOOPD_TEMPLATE_UNKNOWN: {
    exitCode: EXIT.notFound,
    summary: "No built-in template has that name (or its loop is not built in this loopd).",
    hint: "Run `loopd templates` to list the built-in templates and their params.",
  },
  LOOPD_FILE_WRITE_FAILED: {
    exitCode: EXIT.input,
    summary: "A file loopd was asked to write (e.g. by `loopd init`) could not be written.",
    hint: "Check that the folder exists and is writable.",
  },
  LOOPD_NOT_FOUND: {
    exitCode: EXIT.notFound,
    summary: "A routine or run with the given name or id does not exist.",
    hint: "Run `loopd ls` to see routines, `loopd runs` to see runs.",
  },
  LOOPD_HOME_UNUSABLE: {
    exitCode: EXIT.input,
    summary: "The data directory cannot be created or written.",
    hint: "Pass `--home <dir>` or set LOOPD_HOME to a writable directory.",
  },
  LOOPD_DATABASE_URL_INVALID: {
    exitCode: EXIT.input,
    summary: "LOOPD_DATABASE_URL is set but is not a postgres:// URL.",
    hint: "Use postgres://user@host:5432/db, or unset LOOPD_DATABASE_URL to use embedded SQLite.",
  },
  LOOPD_STORE_UNAVAILABLE: {
    exitCode: EXIT.internal,
    summary: "The store (SQLite file or PostgreSQL server) cannot be opened or reached.",
    hint: "Check that PostgreSQL is running and LOOPD_DATABASE_URL is right, or that the data dir is writable.",
  },
  LOOPD_STORE_MIGRATION_FAILED: {
    exitCode: EXIT.internal,
    summary: "A schema migration failed; the store was left at the last good migration.",
    hint: "Read the message for the failing migration; the store is unchanged past it.",
  },
  LOOPD_STORE_TOO_NEW: {
    exitCode: EXIT.internal,
    summary: "The store was migrated by a newer loopd than this one.",
    hint: "Upgrade loopd to the version that last wrote this store.",
  },
  LOOPD_STORE_FULL: {
    exitCode: EXIT.internal,
    summary:
      "The disk holding the SQLite store is full: nothing can be recorded; a running daemon retries every 5 s and goes on by itself once there is room.",
    hint: "Free space on the data dir's disk (`df -h <home>`; kept worktrees under <home>/workspaces are often the most), or move the home to a bigger disk.",
  },
  LOOPD_STORE_READONLY: {
    exitCode: EXIT.internal,
    summary:
      "The SQLite store or its folder cannot be written (a read-only mount or file); loopd needs to write the database and its -wal and -shm files.",
    hint: "Make the data dir writable (`mount -o remount,rw`, file ownership), or point --home / LOOPD_HOME at a writable folder.",
  },
  LOOPD_IMPORT_INVALID: {
    exitCode: EXIT.input,
    summary:
      "The file given to `loopd import` cannot be read, is not JSON, or is not a `loopd export` document.",
    hint: "Import a file written by `loopd export`; the message names the first field that does not fit.",
  },
  LOOPD_IMPORT_VERSION: {
    exitCode: EXIT.input,
    summary: "The export file's `version` is one this loopd cannot read (a newer loopd wrote it).",
    hint: "Import it with a loopd at least as new as the one that exported it.",
  },
  LOOPD_IMPORT_CONFLICT: {
    exitCode: EXIT.input,
    summary:
      "`loopd import` found entries that differ from this home's (a routine's spec, memory, a setting, a loop item); nothing was written.",
    hint: "Pass --replace to let the file's version win, or `loopd export` this home first to keep a copy.",
  },
  LOOPD_BACKUP_EXISTS: {
    exitCode: EXIT.input,
    summary: "`loopd backup` would overwrite an existing file, a folder or the store itself.",
    hint: "Pass --force to overwrite the file, or name another one.",
  },
  LOOPD_BACKUP_POSTGRES: {
    exitCode: EXIT.input,
    summary: "`loopd backup` copies SQLite stores; a PostgreSQL store is backed up with `pg_dump`.",
    hint: "Run the pg_dump command in the message's hint (custom format, loopd's schema only).",
  },
  LOOPD_WORKER_NEEDS_POSTGRES: {
    exitCode: EXIT.input,
    summary:
      "`loopd worker` was started on embedded SQLite, where `loopd serve` is the only process that runs work.",
    hint: "Set LOOPD_DATABASE_URL=postgres://… for separate workers, or run `loopd serve`.",
  },
  LOOPD_SERVE_FAILED: {
    exitCode: EXIT.input,
    summary: "`loopd serve` could not listen on its address (port in use, permission denied).",
    hint: "Pick another port with --port (or LOOPD_PORT), or stop the process using it.",
  },
  LOOPD_DAEMON_RUNNING: {
    exitCode: EXIT.input,
    summary: "Another `loopd serve` already serves this data dir.",
    hint: "Use the running daemon, stop it first, or pass a different --home.",
  },
  LOOPD_SERVE_INSECURE: {
    exitCode: EXIT.input,
    summary:
      "`loopd serve --no-auth` was asked to listen on a non-loopback address, which would open the API to the network.",
    hint: "Drop --no-auth (clients then send the token from <home>/api-token), or bind to 127.0.0.1 with --host.",
  },
  LOOPD_DAEMON_NOT_RUNNING: {
    exitCode: EXIT.notFound,
    summary: "No `loopd serve` is running for this data dir (`loopd open` needs one).",
    hint: "Start it with `loopd serve` (same --home / LOOPD_HOME), then try again.",
  },
  LOOPD_API_UNAUTHORIZED: {
    exitCode: EXIT.auth,
    summary: "An HTTP API request under /api/v1 lacked the API token, or sent a wrong one.",
    hint: "Send `Authorization: Bearer <token>` (or `?access_token=`) with the token in <home>/api-token; `loopd open` prints a dashboard URL carrying it.",
  },
  LOOPD_API_INVALID: {
    exitCode: EXIT.input,
    summary: "An HTTP API request's path, query or body does not match the route's schema.",
    hint: "Fix the fields listed in the message (`details.issues`); GET /api/v1/openapi.json describes every route.",
  },
  LOOPD_API_FORBIDDEN: {
    exitCode: EXIT.auth,
    summary:
      "The daemon refused a request a web page could have made: a `Host` it does not serve (DNS rebinding), another site's `Origin`, or a state change sent as a simple request (no JSON body, no `X-Loopd-Client` header).",
    hint: "Use the CLI, the dashboard or an HTTP client that sends `Content-Type: application/json` or `X-Loopd-Client`; behind a proxy, name its host with `loopd serve --allow-host` (or LOOPD_ALLOWED_HOSTS).",
  },
  LOOPD_DAEMON_UNREACHABLE: {
    exitCode: EXIT.internal,
    summary:
      "The CLI could not reach the daemon's API: LOOPD_URL, or the daemon serving this data dir (daemon.json), did not answer.",
    hint: "Check that `loopd serve` is running and LOOPD_URL points at it; unset LOOPD_URL to work on the local store.",
  },
  LOOPD_ROUTINE_OWNED: {
    exitCode: EXIT.input,
    summary:
      "The routine belongs to a loopd.yaml file (it was applied from it), so the API does not change its definition.",
    hint: "Edit the file named in the message; `loopd apply` (or `loopd serve -f`) picks the change up.",
  },
  LOOPD_SERVICE_UNAVAILABLE: {
    exitCode: EXIT.input,
    summary:
      "`loopd service` found no service manager to talk to: no systemd user session (a container, WSL, no login session) or no launchctl. `install` has written the file all the same.",
    hint: "In a login session with systemd run `systemctl --user daemon-reload && systemctl --user enable --now loopd` (and `loginctl enable-linger $USER` so it runs without a login session); without systemd, run `loopd serve` under your own supervisor.",
  },
  LOOPD_SERVICE_UNSUPPORTED: {
    exitCode: EXIT.input,
    summary: "`loopd service` knows systemd (Linux) and launchd (macOS); this platform has neither.",
    hint: "Run `loopd serve` under the platform's own service manager (e.g. NSSM or a scheduled task on Windows).",
  },
  LOOPD_SERVICE_FAILED: {
    exitCode: EXIT.input,
    summary:
      "systemctl or launchctl refused a step of `loopd service` (the message quotes the command and its error).",
    hint: "Run the quoted command yourself to see the whole error; `journalctl --user -u loopd` (or ~/Library/Logs/loopd) shows why the service stopped.",
  },
  // Codes recorded on runs (shown by `loopd show`, `loopd runs`, `loopd logs`); `loopd run --wait` exits 1.
  LOOPD_RUN_FAILED: {
    exitCode: EXIT.runFailed,
    summary: "The run's command or agent finished unsuccessfully (non-zero exit status).",
    hint: "Read the run's log with `loopd logs <run>`.",
  },
  LOOPD_RUN_TIMEOUT: {
    exitCode: EXIT.runFailed,
    summary: "The run exceeded its routine's `timeout`; its whole process tree was stopped.",
    hint: "Raise `timeout` in loopd.yaml or make the task smaller.",
  },
  LOOPD_RUN_CANCELED: {
    exitCode: EXIT.runFailed,
    summary: "The run was stopped by a newer run of its routine (overlap: cancel-previous).",
    hint: "Use overlap: queue or skip if runs must not be interrupted.",
  },
  LOOPD_RUN_SKIPPED: {
    exitCode: EXIT.runFailed,
    summary:
      "The run never started: its routine was still running another run (overlap: skip) or was paused when it came up.",
    hint: "Wait for the running one (`loopd runs <routine>`) and run again, or set `overlap: queue` so a run waits its turn.",
  },
  LOOPD_RUN_RELEASED: {
    exitCode: EXIT.runFailed,
    summary: "The worker shut down before the run finished; the run went back to the queue.",
    hint: "Nothing to do: another worker (or the restarted one) runs it.",
  },
  LOOPD_LEASE_EXPIRED: {
    exitCode: EXIT.runFailed,
    summary:
      "The worker running this attempt stopped heartbeating (it died or stalled); the run was recovered.",
    hint: "Check the worker's host; the run was re-queued while attempts remained.",
  },
  LOOPD_LEASE_LOST: {
    exitCode: EXIT.runFailed,
    summary:
      "This worker could not renew its lease in time and stopped the run itself, so it never runs twice.",
    hint: "Check the connection between the worker and the store.",
  },
  LOOPD_REPO_NOT_FOUND: {
    exitCode: EXIT.runFailed,
    summary: "The routine's repo folder does not exist on the worker that ran it.",
    hint: "Fix `repo` in loopd.yaml, or run the routine on a host that has the folder.",
  },
  LOOPD_HARNESS_UNAVAILABLE: {
    exitCode: EXIT.runFailed,
    summary: "The routine's harness is not available in this loopd.",
    hint: "Use a harness this version provides (`shell`), or upgrade loopd.",
  },
  LOOPD_HARNESS_MISMATCH: {
    exitCode: EXIT.runFailed,
    summary: "The routine's task does not fit its harness (e.g. a prompt given to the shell harness).",
    hint: "Give shell routines a `command`, agent routines a `prompt` or `template`.",
  },
  LOOPD_HARNESS_SPAWN_FAILED: {
    exitCode: EXIT.runFailed,
    summary: "The run's process could not be started.",
    hint: "Check that the command's program exists on the worker's PATH.",
  },
  LOOPD_HARNESS_CRASHED: {
    exitCode: EXIT.runFailed,
    summary: "The harness itself failed unexpectedly (a bug in loopd or its adapter).",
    hint: "Re-run with LOOPD_DEBUG=1 and report it.",
  },
  LOOPD_HARNESS_NOT_INSTALLED: {
    exitCode: EXIT.runFailed,
    summary:
      "The harness's CLI (claude, codex, gemini, opencode) is not installed on the worker that ran it.",
    hint: "Install it (e.g. `npm i -g @anthropic-ai/claude-code`) or set its path under `harnesses.<name>.command`.",
  },
  LOOPD_HARNESS_BROKEN: {
    exitCode: EXIT.runFailed,
    summary:
      "The harness's CLI started but could not run any tool (its sandbox could not start, a helper binary is missing), so the agent worked blind; loopd fails the attempt instead of recording a success with nothing done.",
    hint: "The message names the cause. For Codex: give the daemon a CODEX_HOME (or HOME) outside the temp dir, make bubblewrap work for its user, or set `harnesses.codex.sandbox: danger-full-access` where the worker is confined otherwise.",
  },
  LOOPD_SANDBOX_UNAVAILABLE: {
    exitCode: EXIT.runFailed,
    summary:
      "The routine's `sandbox: required` asks for confinement (bubblewrap on Linux) that does not work on this machine, so the run was refused rather than run unconfined.",
    hint: "Install bubblewrap (`sudo apt-get install bubblewrap`) and make sure the daemon's user may create user namespaces (`loopd doctor` runs a probe), or point `sandbox.bwrap` at a working binary.",
  },
  LOOPD_AUTH_MISSING: {
    exitCode: EXIT.auth,
    summary: "The harness has no credentials: no API key in the environment and no CLI login.",
    hint: "Log in with the harness's CLI (`claude` then /login, `codex login`, `gemini`, `opencode auth login`) or export its API key; `loopd doctor` shows what is missing.",
  },
  LOOPD_AUTH_EXPIRED: {
    exitCode: EXIT.auth,
    summary:
      "The harness's credentials were rejected (HTTP 401/403): the key was revoked or the login expired.",
    hint: "Log in again with the harness's CLI or replace the API key, then `loopd resume <routine>`; `loopd doctor` shows which harness.",
  },
  LOOPD_ROUTINE_PAUSED_AUTH: {
    exitCode: EXIT.auth,
    summary:
      "A run was asked for by hand (`loopd run`, the API, MCP's run_now) of a routine that paused itself because its harness's credentials kept failing; it would fail the same way.",
    hint: "Fix the login (`loopd doctor` names the command), then `loopd resume <routine>`; or run it once anyway with `loopd run <routine> --force`.",
  },
  LOOPD_TURN_LIMIT: {
    exitCode: EXIT.runFailed,
    summary: "The agent reached the routine's `maxTurns` before it finished; loopd stopped it.",
    hint: "Raise `maxTurns`, or make the prompt narrower.",
  },
  LOOPD_AGENT_FAILED: {
    exitCode: EXIT.runFailed,
    summary: "The agent ended its run with an error (the model API failed, or the agent reported failure).",
    hint: "Read the run's events with `loopd logs <run>`; model API errors name their status.",
  },
  LOOPD_NO_CHANGES: {
    exitCode: EXIT.runFailed,
    summary:
      "The routine declares `expect: changes`, and the run changed no file in its workspace (loopd's own `.loopd/` files do not count).",
    hint: "Read what the agent did with `loopd logs <run>` (failed commands show their exit code); make the prompt say which files to change, or drop `expect: changes` if doing nothing can be right.",
  },
  LOOPD_VERIFY_FAILED: {
    exitCode: EXIT.runFailed,
    summary:
      "The routine's `verify` command failed after the agent finished; the next tier in `escalate` gets the occurrence.",
    hint: "Read the verification output with `loopd show-run <run>`; add a stronger tier to `escalate` or fix the check.",
  },
  LOOPD_CHECK_ERROR: {
    exitCode: EXIT.runFailed,
    summary:
      "A watch's check could not be evaluated (network error, a server error, a command that could not start): neither satisfied nor unsatisfied.",
    hint: "Read the evidence with `loopd show-run <run>`; the check is evaluated again at its next time (or on retry).",
  },
  LOOPD_CHECK_ANSWER_INVALID: {
    exitCode: EXIT.runFailed,
    summary:
      'An agent check\'s answer was not the JSON `{ "satisfied": true|false, "reason": "…" }` it was asked for; loopd does not guess a verdict.',
    hint: "Read the answer with `loopd show-run <run>`; try a stronger `check.agent.tier` or a more precise question.",
  },
  LOOPD_CHECK_UNSATISFIED: {
    exitCode: EXIT.runFailed,
    summary: "The check was evaluated and is not met (what `loopd run` exits with for an unsatisfied watch).",
    hint: "Read the evidence with `loopd show-run <run>`; `loopd checks` lists open watches.",
  },
  LOOPD_GITHUB_AUTH: {
    exitCode: EXIT.auth,
    summary:
      "GitHub refused the request (401, 403, or 404 on a private repository): the token is missing, expired or lacks access.",
    hint: "Set GITHUB_TOKEN (or GH_TOKEN, or log in with `gh auth login`) for the daemon, with read access to the repository.",
  },
  LOOPD_GITHUB_RATE_LIMITED: {
    exitCode: EXIT.runFailed,
    summary:
      "GitHub answered that the token is over its rate limit (primary, or a secondary limit with `retry-after`); loopd sends nothing more to GitHub until the time it named.",
    hint: "Wait for the reset named in the message; fewer routines on one token, longer intervals, or a GitHub App token (higher limits) avoid it.",
  },
  LOOPD_GITHUB_NOT_FOUND: {
    exitCode: EXIT.notFound,
    summary:
      "The repository, pull request, issue or run asked for does not exist, or the token cannot see it.",
    hint: "Check the `repo` (owner/name) and number; for a private repository the token needs read access to it.",
  },
  LOOPD_FEEDBACK_SOURCE_FAILED: {
    exitCode: EXIT.runFailed,
    summary:
      "A feedback-triage source could not be read: a file or folder is missing or unreadable, an HTTP feed failed or did not answer JSON, a field path found no text.",
    hint: "Fix the source named in the message (path, URL, `items`/`text`/`id` paths); the other sources were triaged.",
  },
  LOOPD_GITHUB_REJECTED: {
    exitCode: EXIT.runFailed,
    summary:
      "GitHub refused a change as invalid (422/409): the branch moved since it was read, a pull request for the branch already exists, a field is wrong.",
    hint: "Read GitHub's reason in the message; a branch that moved is picked up again on the next tick.",
  },
  LOOPD_GITHUB_UNAVAILABLE: {
    exitCode: EXIT.runFailed,
    summary: "GitHub could not be reached, did not answer in time, or answered with a server error (5xx).",
    hint: "Check the network and GITHUB_API_URL (GitHub Enterprise: https://<host>/api/v3); https://www.githubstatus.com shows outages.",
  },
  LOOPD_GITHUB_ARTIFACT_TOO_LARGE: {
    exitCode: EXIT.runFailed,
    summary:
      "A workflow artifact (or a file in its zip) is larger than loopd reads; ci-health skips it and reads the job logs instead.",
    hint: "Upload the JUnit XML as its own small artifact and name it with ci-health's `artifact` param.",
  },
  LOOPD_REMIND_UNPARSED: {
    exitCode: EXIT.input,
    summary:
      "`loopd remind` could not turn the sentence into a plan (no time, no subject, or no condition it knows), and no model tier could either.",
    hint: "Say when, what and the condition, with a URL or test id; see the examples in the message, or write the watch in loopd.yaml.",
  },
  LOOPD_REMIND_NO_CHANNEL: {
    exitCode: EXIT.input,
    summary: "`loopd remind` needs a notification channel to ping, and none was given or could be chosen.",
    hint: "Pass `--to <channel>` (a channel declared under `channels:` in loopd.yaml and applied).",
  },
  LOOPD_REMIND_AMBIGUOUS_ZONE: {
    exitCode: EXIT.input,
    summary:
      "The `loopd remind` sentence names a time zone by an abbreviation that means more than one zone (IST: India, Ireland or Israel; BST: British Summer Time or Bangladesh; AST: Atlantic or Arabia).",
    hint: "Name the zone itself (Asia/Kolkata, Europe/Dublin, Europe/London, …) in the sentence or with `--tz`.",
  },
  LOOPD_REMIND_ZONE_CONFLICT: {
    exitCode: EXIT.input,
    summary:
      "The `loopd remind` sentence names a time zone that disagrees with `--tz`, or names two different zones.",
    hint: "Keep one zone: drop `--tz`, or drop the zone from the sentence (or make them the same).",
  },
  LOOPD_REMIND_TIME_CONFLICT: {
    exitCode: EXIT.input,
    summary:
      'The `loopd remind` sentence pairs a part of the day with a clock time outside it ("this morning at 9pm").',
    hint: 'Say one of them: "tonight at 9pm", "this morning at 9am", or just "at 21:00".',
  },
  LOOPD_CONFIRMATION_REQUIRED: {
    exitCode: EXIT.input,
    summary: "The command changes state and asks for confirmation, but there is no terminal to ask on.",
    hint: "Re-run with `--yes` to confirm, or `--json` to print the plan without doing anything.",
  },
  LOOPD_INTEGRATE_FAILED: {
    exitCode: EXIT.runFailed,
    summary:
      "The coding agent's own `mcp add` command failed while `loopd integrate` registered `loopd mcp` with it.",
    hint: "Read its output in the message; `loopd integrate <agent> --print` shows the config snippet to add by hand.",
  },
  LOOPD_BUDGET_EXCEEDED: {
    exitCode: EXIT.budget,
    summary:
      "The run reached its budget (`budget.perRun`) and was stopped, or was not started because a day or month cap has no room for its estimate.",
    hint: "Raise the cap the message names (`budget.perRun` / `budget.perDay` / `budget.perMonth` of the routine, `budgets.*` in loopd.yaml), use a cheaper tier, or narrow the prompt; `loopd show-run <run>` shows what it spent.",
  },
  LOOPD_WORKSPACE_ESCAPE: {
    exitCode: EXIT.runFailed,
    summary: "The agent changed files outside its worktree (in the main checkout or the repo folder).",
    hint: "Inspect the listed paths and revert what you do not want; tighten the agent's permissions.",
  },
  LOOPD_WORKSPACE_FAILED: {
    exitCode: EXIT.runFailed,
    summary: "loopd could not prepare the run's workspace (git worktree, clone or reset failed).",
    hint: "Check that `repo` is a git repository with the configured base branch; the message has git's error.",
  },
  LOOPD_DELIVERY_FAILED: {
    exitCode: EXIT.runFailed,
    summary:
      "loopd could not deliver a run's work (`deliver`): a commit hook refused the commit, or the remote refused the push. The run keeps its outcome; the work stays on the local run branch (or in the kept worktree).",
    hint: "Read git's message in `loopd show-run <run>`; fix the hook or the remote (permissions, protected branch), then push the branch by hand, or set `git.noVerify: true` to skip hooks.",
  },
  // Why a routine stopped itself (routines.paused_code) or was flagged; shown by `loopd ls`, doctor and notifications.
  LOOPD_ROUTINE_FAILING: {
    exitCode: EXIT.runFailed,
    summary:
      "The routine paused itself after `pauseAfter` failed runs in a row (default 5), so a broken routine stops spending and notifying every period.",
    hint: "Read the last run's error with `loopd show <routine>`, fix the cause, then `loopd resume <routine>`.",
  },
  LOOPD_ROUTINE_MISFIRE: {
    exitCode: EXIT.runFailed,
    summary:
      "The routine's due time passed by more than two periods with no run recorded: nothing is scheduling it (no `loopd serve` on this store, or its scheduler is stuck).",
    hint: "Start `loopd serve` on this store (a `loopd worker` only executes runs), or read its log for errors; `loopd ls` and `loopd doctor` show misfired routines.",
  },
  LOOPD_HOOK_UNAUTHORIZED: {
    exitCode: EXIT.auth,
    summary:
      "An inbound hook delivery was not signed with the routine's `hook.secret` (or is too old), or lacked its bearer token.",
    hint: "Sign deliveries per Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature) or send `Authorization: Bearer <token>`.",
  },
  LOOPD_HOOK_REPLAYED: {
    exitCode: EXIT.input,
    summary: "An inbound hook delivery with this id was already received; it was not run again.",
    hint: "Send each event with a new `webhook-id`; a retry of the same event needs nothing.",
  },
  LOOPD_HOOK_TOO_LARGE: {
    exitCode: EXIT.input,
    summary: "An inbound hook body was over the 1 MiB limit.",
    hint: "Send a summary or a link instead of the whole payload.",
  },
  LOOPD_HOOK_INVALID: {
    exitCode: EXIT.input,
    summary: "A correctly signed inbound hook delivery carried a body loopd cannot read (not a JSON object).",
    hint: "Send the event as a JSON object (`Content-Type: application/json`).",
  },
  LOOPD_INTERNAL: {
    exitCode: EXIT.internal,
    summary: "A bug in loopd: something failed that should not have.",
    hint: "Re-run with LOOPD_DEBUG=1 for a stack trace and report it.",
  },
} as const satisfies Record<string, ErrorCodeInfo>;

export type ErrorCode = keyof typeof ERROR_CODES;
