/** The escape hatch `providerOptions[providerId]`, checked the same way by every adapter. */
import type * as z from "zod";
import { InvalidRequestError } from "./errors.ts";
import type { CreateSandboxRequest } from "./sandbox-request.ts";
import { describeIssues } from "./sandbox-request.ts";

/**
 * Validates the request's `providerOptions[providerId]` with an adapter's strict schema, naming
 * the field on failure; undefined when the request has none. A provider that takes no options
 * passes no schema, and any key is refused, never ignored.
 */
export function parseProviderOptions<Schema extends z.ZodType>(
  providerId: string,
  request: CreateSandboxRequest,
  schema?: Schema,
): z.infer<Schema> | undefined {
  const own = request.providerOptions?.[providerId];
  if (own === undefined) return undefined;
  if (schema === undefined) {
    const keys = Object.keys(own);
    if (keys.length === 0) return undefined;
    throw new InvalidRequestError(
      `providerOptions.${providerId}: provider "${providerId}" takes no options (got ${keys.join(", ")})`,
      { providerId },
    );
  }
  const result = schema.safeParse(own);
  if (!result.success) {
    throw new InvalidRequestError(
      `invalid provider options: ${describeIssues(result.error, `providerOptions.${providerId}`)}`,
      { cause: result.error, providerId },
    );
  }
  return result.data;
}
