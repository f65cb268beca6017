/**
 * The tunnel's wire format: JSON text frames over one WebSocket that the daemon dials. The gateway
 * pushes HTTP exchanges of its `/mcp/<daemon-id>` endpoint down as `request` frames; the daemon
 * answers each with `response-start`, `response-body`..., `response-end` (or one `error`). Every
 * frame is validated on arrival; what fails is answered with an `error` frame, never a crash.
 */
import * as z from "zod";

/** Names this wire format, announced in `hello`. */
export const tunnelProtocol = "sandport-tunnel.v1";

/** Header the daemon sends its id in when it dials (the token goes in `Authorization`). */
export const daemonIdHeader = "sandport-daemon-id";

/** Request headers the gateway forwards to the daemon (never `Authorization` or cookies). */
export const forwardedRequestHeaders = [
  "content-type",
  "accept",
  "mcp-protocol-version",
  "mcp-session-id",
  "last-event-id",
] as const;

/** Response headers the daemon sends back and the gateway passes to the client. */
export const forwardedResponseHeaders = [
  "content-type",
  "mcp-session-id",
  "mcp-protocol-version",
  "cache-control",
] as const;

const requestId = z.string().regex(/^[A-Za-z0-9_-]{1,128}$/);
const headers = z
  .record(z.string().max(64), z.string().max(8192))
  .refine((value) => Object.keys(value).length <= 32, {
    message: "too many headers",
  });

/** A frame the gateway sends to a daemon. */
export const gatewayFrameSchema = z.discriminatedUnion("type", [
  z.strictObject({
    type: z.literal("request"),
    id: requestId,
    method: z.enum(["GET", "POST", "DELETE"]),
    headers,
    body: z.string(),
  }),
  z.strictObject({ type: z.literal("cancel"), id: requestId }),
]);

/** A frame the gateway sends to a daemon. */
export type GatewayFrame = z.output<typeof gatewayFrameSchema>;

/** A frame a daemon sends to the gateway. */
export const daemonFrameSchema = z.discriminatedUnion("type", [
  z.strictObject({
    type: z.literal("hello"),
    protocol: z.literal(tunnelProtocol),
    daemonId: z.string().max(64),
    version: z.string().max(64),
  }),
  z.strictObject({ type: z.literal("draining") }),
  z.strictObject({
    type: z.literal("response-start"),
    id: requestId,
    status: z.int().min(100).max(599),
    headers,
  }),
  z.strictObject({ type: z.literal("response-body"), id: requestId, chunk: z.string() }),
  z.strictObject({ type: z.literal("response-end"), id: requestId }),
  z.strictObject({
    type: z.literal("error"),
    id: requestId.nullable(),
    code: z.string().max(64),
    message: z.string().max(1024),
  }),
]);

/** A frame a daemon sends to the gateway. */
export type DaemonFrame = z.output<typeof daemonFrameSchema>;

/** Why a frame was refused, and the request id it named when that could be read. */
export interface FrameRejection {
  id: string | null;
  code: "malformed_frame" | "frame_too_large";
  message: string;
}

/**
 * The request id an unreadable or oversized frame names, read only from a well-formed prefix, so
 * the rejection can be answered to the right request without parsing the whole frame.
 */
export function frameIdPrefix(text: string): string | null {
  const match = /^\{"type":"[a-z-]{1,32}","id":"([A-Za-z0-9_-]{1,128})"/.exec(text.slice(0, 200));
  return match?.[1] ?? null;
}

/** Parses one frame with `schema`; the result says why when it is not acceptable. */
export function parseFrame<Schema extends z.ZodType>(
  data: string,
  schema: Schema,
  maxBytes: number,
  byteLength: number,
): { frame: z.output<Schema> } | { rejection: FrameRejection } {
  if (byteLength > maxBytes) {
    return {
      rejection: {
        id: frameIdPrefix(data),
        code: "frame_too_large",
        message: `frame of ${byteLength} bytes is over the limit of ${maxBytes}`,
      },
    };
  }
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return { rejection: { id: frameIdPrefix(data), code: "malformed_frame", message: "frame is not JSON" } };
  }
  const result = schema.safeParse(value);
  if (!result.success) {
    const id =
      typeof value === "object" && value !== null && typeof (value as { id?: unknown }).id === "string"
        ? (requestId.safeParse((value as { id: string }).id).data ?? null)
        : null;
    const issue = result.error.issues[0];
    const where = issue === undefined || issue.path.length === 0 ? "frame" : issue.path.join(".");
    return {
      rejection: { id, code: "malformed_frame", message: `${where}: ${issue?.message ?? "invalid"}` },
    };
  }
  return { frame: result.data };
}
