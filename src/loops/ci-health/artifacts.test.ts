import { zipSync } from "fflate";
import { describe, expect, it } from "vitest";
import { LoopdError } from "../../domain/errors.js";
import type { ArtifactInfo } from "../../github/index.js";
import { attemptsOf, globMatcher, junitInZip, MAX_XML_BYTES } from "./artifacts.js";

const encode = (text: string) => new TextEncoder().encode(text);
const REPORT = `<testsuite name="pkg"><testcase classname="pkg" name="a"><failure message="boom"/></testcase><testcase classname="pkg" name="b"/></testsuite>`;

const artifact = (id: number, name: string): ArtifactInfo => ({
  id,
  name,
  sizeInBytes: 100,
  expired: false,
  createdAt: null,
});

describe("ci-health artifacts", () => {
  it("parses every XML report in a zip, ignoring other files and XML that is not JUnit", () => {
    const zip = zipSync({
      "reports/one.xml": encode(REPORT),
      "reports/two.xml": encode(`<testsuite name="pkg"><testcase classname="pkg" name="c"/></testsuite>`),
      "coverage.xml": encode("<coverage/>"),
      "log.txt": encode("not xml"),
    });
    const cases = junitInZip(zip, "junit");
    expect(cases.map((c) => [c.id, c.outcome])).toEqual([
      ["pkg::a", "failed"],
      ["pkg::b", "passed"],
      ["pkg::c", "passed"],
    ]);
  });

  it("refuses a zip whose XML unzips past the cap, and a file that is not a zip", () => {
    const big = zipSync({ "huge.xml": new Uint8Array(MAX_XML_BYTES + 1).fill(32) });
    expect(() => junitInZip(big, "junit")).toThrow(
      expect.objectContaining({ code: "LOOPD_GITHUB_ARTIFACT_TOO_LARGE" }),
    );
    expect(() => junitInZip(encode("plain text"), "junit")).toThrow(LoopdError);
  });

  it("takes the attempt from the name, else newest first from the run's latest attempt", () => {
    const found = attemptsOf(
      [
        artifact(1, "junit-attempt-1"),
        artifact(2, "junit"),
        artifact(3, "junit"),
        artifact(4, "junit-attempt-2"),
      ],
      3,
    );
    expect(found.map(([a, attempt]) => [a.id, attempt])).toEqual([
      [1, 1],
      [2, 2],
      [4, 2],
      [3, 3],
    ]);
  });

  it("matches artifact names with a glob", () => {
    const junit = globMatcher("junit-*");
    expect(junit("junit-attempt-2")).toBe(true);
    expect(junit("coverage")).toBe(false);
    expect(globMatcher("test-results?")("test-results1")).toBe(true);
    expect(globMatcher("a.b")("axb")).toBe(false);
  });
});
