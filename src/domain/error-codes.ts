/**
 * The registry of error codes. Codes are stable: scripts and agents match on them. Each code
 * says which CLI exit code it maps to (see DESIGN.md: 1 run failed, 2 input, 3 not found,
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
  LOOPD_INTERNAL: {
    exitCode: EXIT.internal,
    summary: "A bug in loopd: something failed that should not have.",
    hint: "Re-run with LOOPD_DEBUG=1 for a stack trace and report it.",
  },
} as const satisfies Record<string, ErrorCodeInfo>;

export type ErrorCode = keyof typeof ERROR_CODES;
