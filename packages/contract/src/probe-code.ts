/** Runs a small piece of checking code inside a sandbox, in a language the provider declares. */
import type { ExecOptions, ExecResult, Sandbox } from "@sandport/core";
import type { ContractCaseControls } from "./contract-case.ts";
import type { ContractContext } from "./contract-context.ts";

/** Languages a probe can be written in. */
export type ProbeLanguage = "shell" | "javascript" | "python";

/** The first language of `preference` that the provider declares as a runtime, or `undefined`. */
export function probeLanguage(
  contract: ContractContext,
  preference: readonly ProbeLanguage[],
): ProbeLanguage | undefined {
  return preference.find((language) => contract.capabilities.runtimes.includes(language));
}

/**
 * Runs `code` in `language`: shell through `exec(["sh", "-c", code])`, so only `exec` is needed,
 * the others through `runCode` (skipping the case when the sandbox has none, as the runCode cases do).
 */
export function runProbe(
  sandbox: Sandbox,
  language: ProbeLanguage,
  code: string,
  controls: ContractCaseControls,
  options: ExecOptions = {},
): Promise<ExecResult> {
  if (language === "shell") return sandbox.exec(["sh", "-c", code], options);
  const runCode = sandbox.runCode?.bind(sandbox) ?? controls.skip("the sandbox has no runCode");
  return runCode(code, { ...options, language });
}
