/**
 * ci-health's JUnit from GitHub Actions artifacts: a workflow run's artifacts whose name
 * matches `artifact` (a glob; default any), downloaded as zips through the GitHub module
 * (capped: an artifact above MAX_ARTIFACT_BYTES, or an XML file above MAX_XML_BYTES, is
 * skipped with a note), every `*.xml` inside parsed with junit.ts. An artifact without JUnit
 * cases is ignored; an expired one is skipped.
 *
 * Which attempt an artifact belongs to: its name says so when it carries `attempt-N`
 * (`junit-attempt-${{ github.run_attempt }}`, the recommended naming); otherwise artifacts of
 * the same name are taken newest first as the run's latest attempt, the one before as the
 * attempt before, and so on.
 */
import { unzipSync } from "fflate";
import { LoopdError } from "../../domain/errors.js";
import type { ArtifactInfo, GithubClient, RepoRef } from "../../github/index.js";
import { type JUnitCase, mergeJUnitCases, parseJUnit } from "./junit.js";

/** A zip larger than this is not downloaded (JUnit XML compresses ~10×: 50 MiB is a huge suite). */
export const MAX_ARTIFACT_BYTES = 50 * 1024 * 1024;
/** Per XML file inside, uncompressed. */
export const MAX_XML_BYTES = 32 * 1024 * 1024;
/** All XML of one artifact, uncompressed. */
export const MAX_UNZIPPED_BYTES = 128 * 1024 * 1024;

export interface ArtifactJUnit {
  /** Attempt number (1-based) → its cases. */
  attempts: Map<number, JUnitCase[]>;
  /** Artifacts skipped and why, for the run's log. */
  notes: string[];
}

/**
 * The JUnit cases of a run's attempts after `after`, from its artifacts; `attempts` is empty
 * when no artifact held any (the caller reads the job logs instead).
 */
export async function junitFromArtifacts(input: {
  github: GithubClient;
  repo: RepoRef;
  run: { id: number; runAttempt: number };
  after: number;
  pattern: string | undefined;
  signal?: AbortSignal;
}): Promise<ArtifactJUnit> {
  const { github, repo, run } = input;
  const notes: string[] = [];
  const matches = globMatcher(input.pattern ?? "*");
  const listed = (await github.runArtifacts(repo, run.id)).filter((artifact) => matches(artifact.name));
  const attempts = new Map<number, JUnitCase[]>();
  for (const [artifact, attempt] of attemptsOf(listed, run.runAttempt)) {
    if (attempt <= input.after) continue;
    if (artifact.expired) {
      notes.push(`artifact ${artifact.name} of run ${run.id} has expired`);
      continue;
    }
    if (artifact.sizeInBytes > MAX_ARTIFACT_BYTES) {
      notes.push(
        `artifact ${artifact.name} of run ${run.id} skipped: ${mib(artifact.sizeInBytes)} is more than the ${mib(MAX_ARTIFACT_BYTES)} loopd reads`,
      );
      continue;
    }
    let cases: JUnitCase[];
    try {
      const zip = await github.downloadArtifact(repo, artifact, {
        maxBytes: MAX_ARTIFACT_BYTES,
        ...(input.signal ? { signal: input.signal } : {}),
      });
      cases = junitInZip(zip, artifact.name);
    } catch (error) {
      input.signal?.throwIfAborted();
      if (!(error instanceof LoopdError)) throw error;
      notes.push(`artifact ${artifact.name} of run ${run.id} skipped: ${error.message} (${error.code})`);
      continue;
    }
    if (cases.length === 0) continue;
    attempts.set(attempt, mergeJUnitCases([...(attempts.get(attempt) ?? []), ...cases]));
  }
  return { attempts, notes };
}

/** Every JUnit case of the `*.xml` files in a zip; oversized files refuse the whole artifact. */
export function junitInZip(zip: Uint8Array, name: string): JUnitCase[] {
  let total = 0;
  let oversized: string | null = null;
  let files: Record<string, Uint8Array>;
  try {
    files = unzipSync(zip, {
      filter: (file) => {
        if (!file.name.toLowerCase().endsWith(".xml")) return false;
        total += file.originalSize;
        if (file.originalSize > MAX_XML_BYTES || total > MAX_UNZIPPED_BYTES) oversized ??= file.name;
        return oversized === null;
      },
    });
  } catch (error) {
    throw new LoopdError(
      "LOOPD_GITHUB_UNAVAILABLE",
      `artifact ${name} is not a readable zip: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
  if (oversized !== null) {
    throw new LoopdError(
      "LOOPD_GITHUB_ARTIFACT_TOO_LARGE",
      `artifact ${name} unzips to more than loopd reads (${oversized}: at most ${mib(MAX_XML_BYTES)} a file, ${mib(MAX_UNZIPPED_BYTES)} in all)`,
    );
  }
  const decoder = new TextDecoder();
  const cases: JUnitCase[] = [];
  for (const path of Object.keys(files).sort()) {
    try {
      cases.push(...parseJUnit(decoder.decode(files[path])));
    } catch {
      // An XML file that is not a report (a coverage file, say) is not a failure.
    }
  }
  return mergeJUnitCases(cases);
}

/** Each artifact with the attempt it belongs to. */
export function attemptsOf(
  artifacts: readonly ArtifactInfo[],
  runAttempt: number,
): Array<[ArtifactInfo, number]> {
  const byName = new Map<string, ArtifactInfo[]>();
  const out: Array<[ArtifactInfo, number]> = [];
  for (const artifact of artifacts) {
    const named = /attempt[-_ ]?(\d+)/i.exec(artifact.name)?.[1];
    if (named !== undefined) out.push([artifact, Number(named)]);
    else byName.set(artifact.name, [...(byName.get(artifact.name) ?? []), artifact]);
  }
  for (const same of byName.values()) {
    same.sort((a, b) => b.id - a.id);
    same.forEach((artifact, index) => {
      out.push([artifact, Math.max(1, runAttempt - index)]);
    });
  }
  return out.sort(([a, first], [b, second]) => first - second || a.id - b.id);
}

/** `*` any run of characters, `?` one; the rest literal; the whole name must match. */
export function globMatcher(glob: string): (name: string) => boolean {
  const pattern = glob
    .split("")
    .map((char) => (char === "*" ? ".*" : char === "?" ? "." : char.replace(/[.+^${}()|[\]\\]/g, "\\$&")))
    .join("");
  const regex = new RegExp(`^${pattern}$`, "i");
  return (name) => regex.test(name);
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
