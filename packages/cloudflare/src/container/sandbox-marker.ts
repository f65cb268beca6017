/**
 * The file sandport writes into every container it creates. The sandbox bridge keeps nothing about a
 * sandbox but its id, and it hands a fresh, empty container to any well-formed id, known or not;
 * the marker lets `connect` tell a sandbox it created from such a stand-in, and carries the
 * request's `env` and `labels` across processes.
 */
import * as z from "zod";
import { workspaceRoot } from "./container-request-mapping.ts";

/** Where the marker lives. Inside /workspace, since the sandbox bridge's file routes reach nothing else. */
export const sandboxMarkerPath = `${workspaceRoot}/.sandport/sandbox.json`;

/** What the marker holds. */
export interface SandboxMarker {
  /** Format version. */
  version: 1;
  /** Creation time, ms since the epoch. */
  createdAt: number;
  /** Environment of every command (the create request's `env`). */
  env: Record<string, string>;
  /** The create request's labels. */
  labels: Record<string, string>;
}

const markerSchema = z.object({
  version: z.literal(1),
  createdAt: z.number(),
  env: z.record(z.string(), z.string()),
  labels: z.record(z.string(), z.string()),
});

/** The marker as bytes to upload. */
export function encodeSandboxMarker(marker: SandboxMarker): Uint8Array {
  return new TextEncoder().encode(`${JSON.stringify(marker)}\n`);
}

/** Parses marker bytes; throws (a SyntaxError or ZodError) when they are not a marker. */
export function decodeSandboxMarker(bytes: Uint8Array): SandboxMarker {
  return markerSchema.parse(JSON.parse(new TextDecoder().decode(bytes)));
}
