/**
 * Every harness of the registry runs through this wrapper, which decides the run's sandbox
 * (request.ts) from the routine's and the global `sandbox:` setting unless the caller already
 * did (`HarnessInput.sandbox`), and refuses a `required` run that cannot be confined before
 * the harness starts anything (the builtin harness too: it runs its bash commands in the
 * same profile, builtin/bash.ts). The engine hands the harness the final model endpoint (the
 * tier's, or the metering gateway's once it stands in), so the sandbox forwards exactly that.
 */
import type { SandboxSettings } from "../../domain/sandbox.js";
import type { Harness, HarnessEvent, HarnessInput, HarnessResult } from "../harness.js";
import { sandboxRequest } from "./request.js";
import { sandboxRefusal } from "./sandbox.js";

export function confinedHarness(inner: Harness, sandbox: SandboxSettings | undefined): Harness {
  const wrapped: Harness = {
    name: inner.name,
    run(input: HarnessInput, emit: (event: HarnessEvent) => void): Promise<HarnessResult> {
      const request =
        input.sandbox !== undefined
          ? input.sandbox
          : sandboxRequest({
              spec: input.spec,
              settings: sandbox !== undefined ? { sandbox } : {},
              harness: inner.name,
              baseUrl: input.agent?.baseUrl ?? null,
              env: input.env,
              baseEnv: process.env,
            });
      const refusal = sandboxRefusal(request);
      if (refusal) {
        return Promise.resolve({ outcome: "failed", exitCode: null, summary: null, error: refusal });
      }
      return inner.run({ ...input, sandbox: request }, emit);
    },
  };
  if (inner.envKeys !== undefined) Object.assign(wrapped, { envKeys: inner.envKeys });
  if (inner.preflight !== undefined) wrapped.preflight = inner.preflight.bind(inner);
  return wrapped;
}
