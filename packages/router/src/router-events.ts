/**
 * What the router reports as it works: one structured event per decision and per provider call,
 * through the `onEvent` hook, and OpenTelemetry spans when `@opentelemetry/api` is installed.
 */
import type { SandportErrorCode } from "@sandport/core";

/** A routing decision. */
export interface RouteDecisionEvent {
  type: "decision";
  chosen: string | undefined;
  candidates: string[];
  rejected: { providerId: string; kind: string }[];
  matchedRules: string[];
  durationMs: number;
}

/** One call to a provider. */
export interface ProviderCallEvent {
  type: "call";
  providerId: string;
  operation: "create" | "connect" | "destroy" | "reap" | "abandoned-create";
  sandboxId?: string;
  durationMs: number;
  outcome: "ok" | "error";
  errorCode?: SandportErrorCode;
}

/**
 * The ledger could not record or forget a sandbox (the router still tracks it in memory), or could
 * not be opened at all (then only this process knows its sandboxes: nothing to reap later).
 */
export interface LedgerErrorEvent {
  type: "ledger-error";
  operation: "open" | "add" | "remove";
  sandboxId?: string;
  message: string;
}

export type RouterEvent = RouteDecisionEvent | ProviderCallEvent | LedgerErrorEvent;

interface Span {
  setAttribute(key: string, value: string | number | boolean): unknown;
  setStatus(status: { code: number; message?: string }): unknown;
  end(): void;
}
interface Tracer {
  startSpan(name: string, options?: { attributes?: Record<string, string | number | boolean> }): Span;
}

let tracerLoad: Promise<Tracer | undefined> | undefined;

/** The OpenTelemetry tracer when `@opentelemetry/api` is installed (loaded once), else undefined. */
export function routerTracer(): Promise<Tracer | undefined> {
  tracerLoad ??= import("@opentelemetry/api").then(
    (api) => api.trace.getTracer("@sandport/router") as unknown as Tracer,
    () => undefined,
  );
  return tracerLoad;
}

/** Runs `work` inside a span named `name` when a tracer exists. */
export async function traced<T>(
  name: string,
  attributes: Record<string, string | number | boolean>,
  work: () => Promise<T>,
): Promise<T> {
  const tracer = await routerTracer();
  if (tracer === undefined) return work();
  const span = tracer.startSpan(name, { attributes });
  try {
    const value = await work();
    span.setStatus({ code: 1 });
    return value;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === "string") span.setAttribute("sandport.error_code", code);
    span.setStatus({ code: 2 });
    throw error;
  } finally {
    span.end();
  }
}
