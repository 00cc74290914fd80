/**
 * The commented loopd.yaml that `loopd init` writes. It must always validate (a test checks),
 * and its only active routine needs no API key, so a fresh install shows loopd working.
 */
export const SCHEMA_FILE = "loopd.schema.json";

export const EXAMPLE_CONFIG = `# loopd.yaml — routines loopd keeps running for you.
# Apply changes with \`loopd apply\`; \`loopd schema\` prints every key as JSON Schema
# (\`loopd init\` wrote it beside this file; \`loopd schema > ${SCHEMA_FILE}\` refreshes it).
# yaml-language-server: $schema=./${SCHEMA_FILE}

# Named dates, usable in \`at\` and \`until\` ("launch - 1d" is the day before launch).
dates:
  launch: 2026-12-10

# Model tiers the agent routines choose from (harness + model).
models:
  fast: { harness: claude, model: claude-haiku-4-5 }
  strong: { harness: codex, model: gpt-5-codex }

# Hard spending caps in USD.
budgets:
  monthly: 200

# Where notifications go; routines refer to channels by name.
channels:
  me: { type: desktop }

# Finished runs older than this are deleted, beyond each routine's newest keepPerRoutine.
runs:
  keepFor: 30d
  keepPerRoutine: 10

routines:
  # The smallest routine: a shell command, no API key needed.
  # Runs in this folder (the default repo) every 10 seconds.
  - name: tick
    description: Append a timestamp and the run id to ticks.log
    command: echo "$(date -u +%FT%TZ) run=$LOOPD_RUN_ID attempt=$LOOPD_ATTEMPT" >> ticks.log
    every: 10s
    timeout: 30s

  # A cron routine in a fixed time zone, still no API key: every night at 03:00 Berlin time.
  - name: nightly-todos
    description: Count TODO markers in this folder
    command: grep -rIn TODO . --exclude-dir=node_modules --exclude-dir=.git | wc -l
    cron: "0 3 * * *"
    tz: Europe/Berlin

  # An agent loop: every 30 minutes, look after open pull requests. Each run works in its
  # own git worktree (branch loopd/babysit-prs/<run>) with AGENTS.md, CLAUDE.md and the
  # routine's memory in context. Declared paused: \`loopd doctor\` tells whether the claude
  # CLI is installed and logged in; then remove \`paused: true\`.
  - name: babysit-prs
    paused: true
    prompt: |
      Check my open pull requests. Rebase the ones that are behind the base branch and
      fix failing CI where the fix is clear. Summarise what you did.
    every: 30m
    tier: fast
    escalate: [strong]
    maxTurns: 25
    budget: { perRun: 2, perDay: 10 }
    secrets: [GITHUB_TOKEN]           # passed to the agent, redacted from stored logs
    notify: { to: me, on: [failure, budget, auth] }

  # An agent on weekdays at 09:00 in Berlin.
  - name: fix-docs
    paused: true
    prompt: Fix typos in docs/ and open a pull request.
    harness: claude
    maxTurns: 20
    timeout: 15m
    cron: "0 9 * * 1-5"
    tz: Europe/Berlin
    catchUp: latest
    overlap: skip

  # A one-shot: the day before launch at 09:00 (the routine's zone), then never again.
  - name: launch-check
    paused: true
    prompt: Check that every issue labelled launch-blocker is closed; list the open ones.
    tier: fast
    at: launch - 15h
    tz: Europe/Berlin
`;
