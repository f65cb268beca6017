/** Cases about exposing a port of the sandbox (`exposePort`), for providers that declare features.ports. */
import type { Sandbox } from "@sandport/core";
import { assert, expect } from "vitest";
import { allOf, needsBackground, needsRuntime } from "../case-conditions.ts";
import { scopedCase } from "../case-scope.ts";
import type { ContractCase } from "../contract-case.ts";
import { expectSandportError } from "../expect-sandport-error.ts";

const group = "ports";

const needsPorts = allOf(
  (contract) => (contract.capabilities.features.ports ? undefined : "features.ports is false"),
  needsBackground,
  needsRuntime("javascript"),
);

/** Node code for an HTTP server on `port` that says `greeting` and prints "listening" once ready. */
function serverCode(port: number, greeting: string): string {
  return `require("node:http").createServer((request, response) => response.end(${JSON.stringify(greeting)}))
    .listen(${port}, "127.0.0.1", () => console.log("listening"));`;
}

function exposePortOf(sandbox: Sandbox): NonNullable<Sandbox["exposePort"]> {
  const expose = sandbox.exposePort?.bind(sandbox);
  if (expose === undefined) assert.fail("features.ports is declared, but the sandbox has no exposePort()");
  return expose;
}

/** Port cases, in run order. */
export const portCases: readonly ContractCase[] = [
  scopedCase({
    id: "ports-expose-http",
    group,
    title: "exposePort gives a URL that reaches an HTTP server listening inside the sandbox",
    timeoutMs: 30_000,
    skipReason: needsPorts,
    async run(scope) {
      const sandbox = await scope.createSandbox();
      const greeting = `hello from port 8123, ${Math.random()}`;
      const spawn = sandbox.spawn?.bind(sandbox);
      if (spawn === undefined) assert.fail("features.background is declared, but the sandbox has no spawn()");
      const server = await scope.within(
        spawn(["node", "-e", serverCode(8123, greeting)]),
        "spawn the server",
        10_000,
      );
      scope.defer("kill the server", () => server.kill());
      const output = server.stdout[Symbol.asyncIterator]();
      let seen = "";
      while (!seen.includes("listening")) {
        const next = await scope.within(output.next(), "the server saying it listens", 15_000);
        if (next.done) assert.fail(`the server ended before it listened: ${seen}`);
        seen += next.value;
      }
      const exposed = await scope.within(exposePortOf(sandbox)(8123), "exposePort(8123)", 10_000);
      expect(exposed.url).toMatch(/^https?:\/\//);
      const response = await scope.within(
        fetch(exposed.url, { headers: { ...exposed.headers } }),
        "fetch",
        10_000,
      );
      expect(await scope.within(response.text(), "the response body", 10_000)).toBe(greeting);
    },
  }),
  scopedCase({
    id: "ports-nothing-listening",
    group,
    title: "a port nothing listens on fails at first use of its URL, without hanging",
    timeoutMs: 20_000,
    skipReason: needsPorts,
    async run(scope) {
      const sandbox = await scope.createSandbox();
      const exposed = await scope.within(exposePortOf(sandbox)(8124), "exposePort(8124)", 10_000);
      const attempt = fetch(exposed.url, { headers: { ...exposed.headers } }).then(
        (response) => response.status,
        () => "failed" as const,
      );
      const outcome = await scope.within(attempt, "a request to a port nothing listens on", 10_000);
      // Refused (a reset) or a gateway error: anything but a hang or a success.
      expect(outcome === "failed" || (typeof outcome === "number" && outcome >= 500)).toBe(true);
    },
  }),
  scopedCase({
    id: "ports-invalid",
    group,
    title: "exposePort refuses ports outside 1-65535 and non-integers with invalid_request naming the port",
    timeoutMs: 15_000,
    skipReason: (contract) => (contract.capabilities.features.ports ? undefined : "features.ports is false"),
    async run(scope) {
      const sandbox = await scope.createSandbox();
      const expose = exposePortOf(sandbox);
      for (const port of [0, 65_536, -1, 80.5, Number.NaN]) {
        const error = await scope.within(
          expectSandportError(() => expose(port), "invalid_request"),
          `port ${port}`,
          10_000,
        );
        expect(error.message).toContain("port");
      }
    },
  }),
];
