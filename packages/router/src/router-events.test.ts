/**
 * Observability: one structured event per decision and per provider call through `onEvent`, and an
 * OpenTelemetry span per create when `@opentelemetry/api` is installed (here with a recording
 * tracer provider registered globally).
 */

import { trace } from "@opentelemetry/api";
import { ProviderUnavailableError } from "@sandport/core";
import { describe, expect, it } from "vitest";
import { createRouter } from "./router.ts";
import type { RouterEvent } from "./router-events.ts";
import { createScriptedProvider } from "./test-support/scripted-provider.ts";

interface RecordedSpan {
  name: string;
  attributes: Record<string, unknown>;
  status?: { code: number };
  ended: boolean;
}
const spans: RecordedSpan[] = [];
const recordingTracer = {
  startSpan(name: string, options?: { attributes?: Record<string, unknown> }) {
    const span: RecordedSpan = { name, attributes: { ...options?.attributes }, ended: false };
    spans.push(span);
    return {
      setAttribute(key: string, value: unknown) {
        span.attributes[key] = value;
        return this;
      },
      setStatus(status: { code: number }) {
        span.status = status;
        return this;
      },
      end() {
        span.ended = true;
      },
    };
  },
};
trace.setGlobalTracerProvider({ getTracer: () => recordingTracer } as never);

describe("router observability", () => {
  it("emits a decision event and one call event per provider tried, and a span per create", async () => {
    const events: RouterEvent[] = [];
    const failing = createScriptedProvider("failing");
    const working = createScriptedProvider("working");
    failing.script({ kind: "fail", error: new ProviderUnavailableError("down", { providerId: "failing" }) });
    const router = createRouter({ providers: [failing, working], onEvent: (event) => events.push(event) });
    const sandbox = await router.create({ labels: { tool: "events" } });
    await sandbox.destroy();

    const decision = events.find((event) => event.type === "decision");
    expect(decision).toMatchObject({ chosen: "failing", candidates: ["failing", "working"], rejected: [] });
    const calls = events.filter((event) => event.type === "call");
    expect(
      calls.map(
        (event) =>
          event.type === "call" && [event.providerId, event.operation, event.outcome, event.errorCode],
      ),
    ).toEqual([
      ["failing", "create", "error", "provider_unavailable"],
      ["working", "create", "ok", undefined],
    ]);
    for (const event of calls) expect(event.type === "call" && event.durationMs).toBeGreaterThanOrEqual(0);

    const createSpans = spans.filter((span) => span.name === "sandport.create");
    expect(
      createSpans.map((span) => [span.attributes["sandport.provider"], span.status?.code, span.ended]),
    ).toEqual([
      ["failing", 2, true],
      ["working", 1, true],
    ]);
    expect(createSpans[0]?.attributes["sandport.error_code"]).toBe("provider_unavailable");
    await router.dispose();
  });
});
