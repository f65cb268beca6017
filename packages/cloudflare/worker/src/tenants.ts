/**
 * Who is calling: every request's bearer token names one tenant, and everything the tenant does is
 * scoped to it (its sandboxes' addresses, its index, its quotas).
 *
 * Two kinds of token, which may coexist:
 * - the deployment token (`SANDPORT_ISOLATE_WORKER_TOKEN`): the "default" tenant, whose sandboxes
 *   keep the addresses a single-token deployment always used, so upgrading changes nothing;
 * - tenant tokens, stored only as SHA-256 digests in the `SANDPORT_TENANTS` secret:
 *   `{ "<hex digest of the token>": { "tenant": "team-a", "maxSandboxes": 20, ... } }`.
 */
import type { IsolateWorkerEnv } from "./worker-env.ts";
import { IsolateWorkerFailure } from "./worker-responses.ts";

/** Per-tenant limits; absent means no limit of that kind. */
export interface TenantQuotas {
  /** Live sandboxes at once. */
  maxSandboxes?: number;
  /** Bytes of files (contents and paths) across all the tenant's sandboxes. */
  maxStoredBytes?: number;
  /** Runs started per minute (fixed one-minute windows). */
  maxRunsPerMinute?: number;
  /** Lifetime given to a sandbox created without one, ms. */
  defaultTtlMs?: number;
  /** Longest lifetime a sandbox may ask for, ms. */
  maxTtlMs?: number;
}

/** The caller's tenant. */
export interface Tenant {
  /** `default` for the deployment token, else the name in `SANDPORT_TENANTS`. */
  id: string;
  /** Whether this is the deployment token's tenant (unprefixed, single-token addresses). */
  deploymentToken: boolean;
  quotas: TenantQuotas;
}

/** The tenant of the deployment token. */
export const defaultTenantId = "default";

const tenantIdPattern = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const digestPattern = /^[0-9a-f]{64}$/;
const quotaNames = [
  "maxSandboxes",
  "maxStoredBytes",
  "maxRunsPerMinute",
  "defaultTtlMs",
  "maxTtlMs",
] as const;

interface TenantTable {
  byDigest: Map<string, Tenant>;
  byId: Map<string, Tenant>;
}

// Parsed once per isolate, and again only when a new deployment changes the secret's text.
let cached: { source: string | undefined; defaults: string; table: TenantTable } | undefined;

function positiveInteger(value: unknown): number | undefined {
  return typeof value === "number" && Number.isSafeInteger(value) && value > 0 ? value : undefined;
}

/** The deployment-wide quota defaults (`SANDPORT_TENANT_*` variables). */
function defaultQuotas(env: IsolateWorkerEnv): TenantQuotas {
  const read = (text: string | undefined) => positiveInteger(text === undefined ? undefined : Number(text));
  const quotas: TenantQuotas = {};
  const values: Record<(typeof quotaNames)[number], number | undefined> = {
    maxSandboxes: read(env.SANDPORT_TENANT_MAX_SANDBOXES),
    maxStoredBytes: read(env.SANDPORT_TENANT_MAX_STORED_BYTES),
    maxRunsPerMinute: read(env.SANDPORT_TENANT_MAX_RUNS_PER_MINUTE),
    defaultTtlMs: read(env.SANDPORT_DEFAULT_TTL_MS),
    maxTtlMs: read(env.SANDPORT_MAX_TTL_MS),
  };
  for (const name of quotaNames) if (values[name] !== undefined) quotas[name] = values[name];
  return quotas;
}

function misconfigured(problem: string): never {
  // The secret's content (digests, names) is never echoed: the message names only the problem.
  throw new IsolateWorkerFailure("not_configured", `SANDPORT_TENANTS is not valid: ${problem}`);
}

function parseTenantTable(source: string | undefined, defaults: TenantQuotas): TenantTable {
  const table: TenantTable = { byDigest: new Map(), byId: new Map() };
  table.byId.set(defaultTenantId, { id: defaultTenantId, deploymentToken: true, quotas: defaults });
  if (source === undefined || source.trim() === "") return table;
  let parsed: unknown;
  try {
    parsed = JSON.parse(source);
  } catch {
    misconfigured("it is not JSON");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    misconfigured("it must be an object keyed by token digests");
  }
  for (const [digest, entry] of Object.entries(parsed)) {
    if (!digestPattern.test(digest)) misconfigured("a key is not a lowercase hex SHA-256 digest");
    if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
      misconfigured("an entry is not an object");
    }
    const fields = entry as Record<string, unknown>;
    const id = fields.tenant;
    if (typeof id !== "string" || !tenantIdPattern.test(id) || id === defaultTenantId) {
      misconfigured(`a tenant name must match ${tenantIdPattern} and not be "${defaultTenantId}"`);
    }
    for (const key of Object.keys(fields)) {
      if (key !== "tenant" && !(quotaNames as readonly string[]).includes(key)) {
        misconfigured(`unknown field "${key.slice(0, 40)}" (known: tenant, ${quotaNames.join(", ")})`);
      }
    }
    const quotas: TenantQuotas = { ...defaults };
    for (const name of quotaNames) {
      if (fields[name] === undefined) continue;
      const value = positiveInteger(fields[name]);
      if (value === undefined) misconfigured(`${name} must be a positive integer`);
      quotas[name] = value;
    }
    // Several tokens may share a tenant (rotation); they must agree on its quotas.
    const tenant = table.byId.get(id) ?? { id, deploymentToken: false, quotas };
    table.byId.set(id, tenant);
    table.byDigest.set(digest, tenant);
  }
  return table;
}

function tenantTable(env: IsolateWorkerEnv): TenantTable {
  const source = env.SANDPORT_TENANTS;
  const defaults = defaultQuotas(env);
  const defaultsKey = JSON.stringify(defaults);
  if (cached !== undefined && cached.source === source && cached.defaults === defaultsKey)
    return cached.table;
  const table = parseTenantTable(source, defaults);
  cached = { source, defaults: defaultsKey, table };
  return table;
}

/** The tenant named `id` (as stored with a sandbox), or undefined when the deployment no longer has it. */
export function tenantById(env: IsolateWorkerEnv, id: string): Tenant | undefined {
  return tenantTable(env).byId.get(id);
}

const encoder = new TextEncoder();

function hex(digest: ArrayBuffer): string {
  let text = "";
  for (const byte of new Uint8Array(digest)) text += byte.toString(16).padStart(2, "0");
  return text;
}

/**
 * The tenant of the request's `Authorization: Bearer <token>`; throws `unauthorized` for a missing
 * or unknown token and `not_configured` when the deployment has no token at all. The deployment
 * token is compared by digest in constant time; tenant tokens are looked up by digest, so the
 * Worker never holds them.
 */
export async function authenticate(request: Request, env: IsolateWorkerEnv): Promise<Tenant> {
  const deploymentToken = env.SANDPORT_ISOLATE_WORKER_TOKEN || env.SANDPORT_BRIDGE_TOKEN;
  const hasTenants = env.SANDPORT_TENANTS !== undefined && env.SANDPORT_TENANTS.trim() !== "";
  if ((deploymentToken === undefined || deploymentToken === "") && !hasTenants) {
    throw new IsolateWorkerFailure(
      "not_configured",
      "the isolate Worker has no SANDPORT_ISOLATE_WORKER_TOKEN or SANDPORT_TENANTS secret set",
    );
  }
  const table = tenantTable(env);
  const header = request.headers.get("authorization") ?? "";
  const presented = /^Bearer[ ]+(\S+)\s*$/i.exec(header)?.[1];
  if (presented === undefined) throw new IsolateWorkerFailure("unauthorized", "missing bearer token");
  const presentedDigest = await crypto.subtle.digest("SHA-256", encoder.encode(presented));
  if (deploymentToken !== undefined && deploymentToken !== "") {
    const expectedDigest = await crypto.subtle.digest("SHA-256", encoder.encode(deploymentToken));
    if (crypto.subtle.timingSafeEqual(presentedDigest, expectedDigest)) {
      return table.byId.get(defaultTenantId) as Tenant;
    }
  }
  const tenant = table.byDigest.get(hex(presentedDigest));
  if (tenant === undefined) throw new IsolateWorkerFailure("unauthorized", "invalid bearer token");
  return tenant;
}

/**
 * The Durable Object name of sandbox `id` of `tenant`: the bare id for the deployment token (as
 * single-token deployments always named them), else prefixed by the tenant, so one tenant's token
 * can never address another's sandbox, whatever id it sends.
 */
export function sandboxObjectName(tenant: Tenant, id: string): string {
  return tenant.deploymentToken ? id : `tenant/${tenant.id}/${id}`;
}

/** The Durable Object name of `tenant`'s index (and quota counters). */
export function tenantIndexName(tenant: Tenant): string {
  return tenant.deploymentToken ? "index" : `tenant/${tenant.id}`;
}
