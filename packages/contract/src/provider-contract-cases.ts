/** Every conformance case, in the order the suite runs them. */
import { abortCases } from "./cases/abort-cases.ts";
import { backgroundCases } from "./cases/background-cases.ts";
import { directoryCases } from "./cases/directory-cases.ts";
import { errorCases } from "./cases/error-cases.ts";
import { execCases } from "./cases/exec-cases.ts";
import { fileCases } from "./cases/file-cases.ts";
import { isolationCases } from "./cases/isolation-cases.ts";
import { javascriptCases } from "./cases/javascript-cases.ts";
import { lifecycleCases } from "./cases/lifecycle-cases.ts";
import { limitCases } from "./cases/limit-cases.ts";
import { outputCases } from "./cases/output-cases.ts";
import { portCases } from "./cases/port-cases.ts";
import { requestCases } from "./cases/request-cases.ts";
import { runCodeCases } from "./cases/run-code-cases.ts";
import { stdinCases } from "./cases/stdin-cases.ts";
import { streamingCases } from "./cases/streaming-cases.ts";
import type { ContractCase } from "./contract-case.ts";

/** All cases of the sandport provider contract; `describeProviderContract` registers each one. */
export const providerContractCases: readonly ContractCase[] = [
  ...lifecycleCases,
  ...execCases,
  ...stdinCases,
  ...limitCases,
  ...streamingCases,
  ...fileCases,
  ...isolationCases,
  ...backgroundCases,
  ...directoryCases,
  ...outputCases,
  ...portCases,
  ...errorCases,
  ...requestCases,
  ...abortCases,
  ...runCodeCases,
  ...javascriptCases,
];

/** The case with `id`; throws for an unknown id, so a typo does not silently run nothing. */
export function getContractCase(id: string): ContractCase {
  const found = providerContractCases.find((contractCase) => contractCase.id === id);
  if (found === undefined) throw new Error(`unknown contract case "${id}"`);
  return found;
}
