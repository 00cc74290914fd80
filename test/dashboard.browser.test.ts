/**
 * The dashboard in a real browser (loopd#8): `loopd serve` hands out the built React app and
 * the token link it prints; Chromium (driven by playwright-core) lists the routines, runs one
 * and watches its log stream, pauses and resumes another, opens a routine's page (timeline across
 * the width, its YAML, no memory panel for a shell routine), and the costs and checks pages.
 * Each step leaves a screenshot in test-artifacts/dashboard/ (the README's images are copies).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Browser, type BrowserContext, chromium, type Locator, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "./helpers/cli.js";
import { type LoopdProcess, spawnLoopd } from "./helpers/process.js";

// Debian's package; CI installs it in .ci/run. A missing browser is a failure, not a skip.
const CHROMIUM = "/usr/bin/chromium";
const ROOT = fileURLToPath(new URL("..", import.meta.url));
const ARTIFACTS = join(ROOT, "test-artifacts", "dashboard");
const WAIT = { timeout: 15_000 };

const LOOPD_YAML = `budgets: { daily: 5 }
routines:
  - name: hello
    description: Prints three lines, slowly
    command: for i in 1 2 3; do echo line $i; sleep 0.8; done
  - name: nightly
    description: A nightly job, for pausing
    command: echo nightly
    cron: "0 3 * * *"
    tz: UTC
    budget: { perDay: 1 }
  - name: ready
    description: A watch on a file nobody creates
    check: { command: "test -f READY" }
    every: 1h
  - name: broken
    description: Fails, and pauses itself at once
    command: exit 1
    pauseAfter: 1
`;

describe("dashboard in a browser", () => {
  let cwd: string;
  let daemon: LoopdProcess;
  let dashboardUrl: string;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `${CHROMIUM} is missing: install Debian's chromium (npm test does, as root: scripts/test-prerequisites.mjs)`,
      );
    }
    mkdirSync(ARTIFACTS, { recursive: true });
    cwd = mkdtempSync(join(tmpdir(), "loopd-dashboard-"));
    writeFileSync(join(cwd, "loopd.yaml"), LOOPD_YAML);
    daemon = spawnLoopd(["serve", "--port", "0", "-f", "loopd.yaml"], {
      env: { LOOPD_HOME: join(cwd, ".loopd") },
      cwd,
    });
    const ready = await daemon.waitFor((event) => event.type === "ready");
    // The JSON log never carries the API token; `loopd open --print` gives the link whole.
    expect(String(ready.dashboardUrl)).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const open = await runCli(["open", "--print", "--json"], {
      env: { LOOPD_HOME: join(cwd, ".loopd") },
      cwd,
    });
    expect(open.code, open.stderr).toBe(0);
    dashboardUrl = String((JSON.parse(open.stdout) as { dashboardUrl: string }).dashboardUrl);
    expect(dashboardUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/#token=.+/);
    expect(readFileSync(join(cwd, ".loopd", "logs", "serve.log"), "utf8")).not.toContain("token=");

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
      ],
    });
    context = await browser.newContext({ viewport: { width: 1280, height: 800 }, timezoneId: "UTC" });
    page = await context.newPage();
  });

  afterAll(async () => {
    await browser?.close();
    await daemon?.stop();
    if (cwd) rmSync(cwd, { recursive: true, force: true });
  });

  const screenshot = async (name: string) => {
    await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
  };

  const routineRow = (name: string): Locator =>
    page.locator("table.routines tbody tr", {
      has: page.getByRole("link", { name, exact: true }),
    });

  const openRoutines = async () => {
    await page.goto(`${new URL(dashboardUrl).origin}/#/routines`);
    await page.getByRole("heading", { name: "Routines", exact: true }).waitFor(WAIT);
    await routineRow("hello").waitFor(WAIT);
  };

  it("the printed link opens the routines page, signed in, with each trigger in words", async () => {
    await page.goto(dashboardUrl);
    await page.getByRole("heading", { name: "Routines", exact: true }).waitFor(WAIT);
    await routineRow("hello").waitFor(WAIT);
    // The token moved to local storage: the address bar no longer shows it.
    expect(page.url()).not.toContain("token=");

    expect(await routineRow("hello").locator("td").nth(1).textContent()).toBe("manual");
    // The browser's zone is UTC (the context's): a UTC cron needs no zone, in 24-hour time.
    expect(await routineRow("nightly").locator("td").nth(1).textContent()).toBe("at 03:00");
    expect(await routineRow("ready").locator("td").nth(1).textContent()).toBe("every hour");
    expect(await routineRow("nightly").locator(".badge").textContent()).toBe("active");
    await screenshot("1-routines");
  });

  it("Run now opens the run, whose log streams in while it runs and ends succeeded", async () => {
    await openRoutines();
    await routineRow("hello").getByTestId("run-now").click();

    await page.waitForURL(/#\/runs\/\d+$/, WAIT);
    const log = page.locator("pre.log");
    await log.getByText("line 1", { exact: true }).waitFor(WAIT);
    // Caught mid-run: the first line is in, the last is not, and the run is not final yet.
    expect(await log.getByText("line 3", { exact: true }).count()).toBe(0);
    const heading = page.getByRole("heading", { level: 1 });
    expect(await heading.locator(".badge").first().textContent()).toMatch(/^(queued|running)$/);
    await screenshot("2-run-live");

    await log.getByText("line 3", { exact: true }).waitFor(WAIT);
    await heading.locator(".badge", { hasText: "succeeded" }).waitFor(WAIT);
    await page.locator(".log-state", { hasText: /\d+ lines/ }).waitFor(WAIT);
    expect(await log.locator(".line-out").allTextContents()).toEqual(["line 1", "line 2", "line 3"]);
    await screenshot("2-run-succeeded");
  });

  it("Pause marks a routine paused and offers Resume, which makes it active again", async () => {
    await openRoutines();
    const nightly = routineRow("nightly");
    await nightly.getByTestId("pause").click();
    await nightly.locator(".badge", { hasText: "paused" }).waitFor(WAIT);
    await nightly.getByTestId("resume").waitFor(WAIT);
    expect(await nightly.getByTestId("pause").count()).toBe(0);
    await screenshot("3-paused");

    await nightly.getByTestId("resume").click();
    await nightly.locator(".badge", { hasText: "active" }).waitFor(WAIT);
    await nightly.getByTestId("pause").waitFor(WAIT);
    await screenshot("3-resumed");
  });

  it("the routine page spreads its run timeline over the width, shows the YAML, and no memory for a shell routine", async () => {
    await page.goto(`${new URL(dashboardUrl).origin}/#/routines/hello`);
    await page.getByRole("heading", { name: "Recent runs" }).waitFor(WAIT);
    const timeline = page.getByTestId("run-timeline");
    await timeline.getByTestId("timeline-bar").first().waitFor(WAIT);
    const section = await page.locator("section", { has: timeline }).boundingBox();
    const bars = await timeline.locator(".timeline-bars").boundingBox();
    const bar = await timeline.getByTestId("timeline-bar").first().boundingBox();
    // The old SVG was 18 px per run at the left of the box; now the bars' row is the box's width.
    expect(bars!.width).toBeGreaterThan(section!.width * 0.9);
    expect(bar!.width).toBeGreaterThan(40);
    expect(await timeline.getByTestId("timeline-bar").first().getAttribute("title")).toMatch(
      /^#\d+ succeeded\n.* · \d/,
    );

    const yaml = await page.getByTestId("routine-yaml").textContent();
    expect(yaml).toContain("name: hello");
    expect(yaml).toContain("command: for i in 1 2 3; do echo line $i; sleep 0.8; done");
    expect(yaml).not.toMatch(/timeoutMs|escalate|"kind"|repo:/);
    expect(await page.getByRole("heading", { name: "Memory" }).count()).toBe(0);
    await screenshot("3-routine");
  });

  it("the costs page renders its budget bars and a chart or its empty state, without an error", async () => {
    await page.goto(`${new URL(dashboardUrl).origin}/#/costs`);
    await page.getByRole("heading", { name: "Costs", exact: true }).waitFor(WAIT);
    await page.locator("svg.cost-chart, .empty-state").first().waitFor(WAIT);
    const bars = page.getByTestId("budget-bar");
    await bars.first().waitFor(WAIT);
    expect(await bars.allInnerTexts()).toEqual([
      expect.stringMatching(/All routines\s+per day\s+\$0 of \$5\.00/),
      expect.stringMatching(/nightly\s+per day\s+\$0 of \$1\.00/),
    ]);
    expect(await page.locator(".error-box").count()).toBe(0);
    await screenshot("4-costs");
  });

  it("the checks page lists a watch declared in loopd.yaml after it was evaluated once", async () => {
    await openRoutines();
    await routineRow("ready").getByTestId("run-now").click();
    await page.waitForURL(/#\/runs\/\d+$/, WAIT);
    await page
      .getByRole("heading", { level: 1 })
      // A watch's run says its verdict (7946d2a: one word per outcome).
      .locator(".badge", { hasText: /^(succeeded|failed|satisfied|unsatisfied)$/ })
      .waitFor(WAIT);

    await page.goto(`${new URL(dashboardUrl).origin}/#/checks`);
    await page.getByRole("heading", { name: "Checks", exact: true }).waitFor(WAIT);
    const row = page.locator("tbody tr", { has: page.getByRole("link", { name: "ready", exact: true }) });
    await row.waitFor(WAIT);
    expect(await row.textContent()).toContain("test -f READY");
    // Evaluated: the last verdict links to the run instead of "not evaluated yet".
    await row.locator("td.summary a").waitFor(WAIT);
    expect(await page.locator(".error-box").count()).toBe(0);
    await screenshot("5-checks");
  });

  it("a failed run shows its error's hint; the routine that paused itself says why and what to do", async () => {
    await openRoutines();
    await routineRow("broken").getByTestId("run-now").click();
    await page.waitForURL(/#\/runs\/\d+$/, WAIT);
    const runId = /#\/runs\/(\d+)$/.exec(page.url())?.[1];
    await page.getByRole("heading", { level: 1 }).locator(".badge", { hasText: "failed" }).waitFor(WAIT);
    const error = page.locator(".error-box", { hasText: "LOOPD_RUN_FAILED" });
    expect(await error.locator(".hint").textContent()).toBe(`Read the run's log with loopd logs ${runId}.`);
    expect(await error.locator(".hint code").textContent()).toBe(`loopd logs ${runId}`);

    await openRoutines();
    await routineRow("broken").locator(".badge", { hasText: "paused" }).waitFor(WAIT);
    expect(await routineRow("broken").textContent()).toContain("1 failed run in a row");
    await page.getByRole("link", { name: "broken", exact: true }).click();
    await page.getByText("loopd resume broken", { exact: true }).waitFor(WAIT);
    await screenshot("7-paused-failing");
  });

  it("a wrong token in the link shows the token screen", async () => {
    // A fresh context: the signed-in one keeps the right token in its local storage.
    const stranger = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    try {
      const other = await stranger.newPage();
      await other.goto(`${new URL(dashboardUrl).origin}/#token=not-the-token`);
      await other.getByRole("heading", { name: "loopd needs its API token" }).waitFor(WAIT);
      expect(await other.locator("main").textContent()).toContain("Paste the token printed by loopd serve");
      await other.getByLabel("API token").waitFor(WAIT);
      await other.screenshot({ path: join(ARTIFACTS, "6-token-screen.png"), fullPage: true });
    } finally {
      await stranger.close();
    }
  });
});
