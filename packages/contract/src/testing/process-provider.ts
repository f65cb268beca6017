/**
 * A real, minimal provider for tests: every command is a child process of this Node process, run
 * in a temporary workspace directory per sandbox. It isolates nothing and says so
 * (`isolation: "none"`); it exists so the contract suite, and users' own tests, run against real
 * processes, files, timeouts and signals instead of a fake.
 */
import { mkdtemp, realpath, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import {
  AbortedError,
  assertRequestSupported,
  type CallOptions,
  ConfigInvalidError,
  type CreateSandboxRequest,
  encodeSandboxId,
  InvalidRequestError,
  isValidProviderId,
  type ListFilter,
  NotFoundError,
  type ProviderCapabilities,
  parseCreateSandboxRequest,
  type Sandbox,
  type SandboxInfo,
  type SandboxProvider,
  specificationVersion,
  throwIfAborted,
  toSandportError,
  UnsupportedCapabilityError,
  vendorIdFor,
} from "@sandport/core";
import { ProcessSandbox } from "./process-sandbox.ts";

/** Settings of {@link createProcessProvider}. */
export interface ProcessProviderSettings {
  /** Instance name; prefixes every sandbox id. Default `"process"`. */
  providerId?: string;
  /** Directory that holds one workspace directory per sandbox. Default: the OS temp directory. */
  rootDirectory?: string;
}

/**
 * What the process provider can honestly do: shell commands, background processes and files; no
 * isolation, no limits.
 */
export const processProviderCapabilities: ProviderCapabilities = {
  runtimes: ["shell"],
  isolation: "none",
  residency: "self-hosted",
  regions: [],
  limits: { gpuTypes: [], scope: "process" },
  // Commands share the host's network; nothing can be restricted.
  network: { modes: ["open"], allowlist: [] },
  features: {
    filesystem: true,
    streaming: true,
    background: true,
    separateStderr: true,
    stdin: true,
    processStdin: true,
    images: false,
    ports: false,
    combinedOutput: false,
    snapshots: false,
  },
  priors: {
    coldStartMs: 5,
    pricePerVcpuSecond: 0,
    pricePerGibSecond: 0,
    pricePerGpuSecond: 0,
    pricePerRequest: 0,
  },
};

/** Creates a provider whose sandboxes are temporary directories and real child processes. */
export function createProcessProvider(settings: ProcessProviderSettings = {}): SandboxProvider {
  const providerId = settings.providerId ?? "process";
  if (!isValidProviderId(providerId)) {
    throw new ConfigInvalidError(`invalid providerId "${providerId}": use letters, digits, "_", "." or "-"`);
  }
  // Only sandboxes of this provider instance are known: the provider keeps no state on disk.
  const sandboxes = new Map<string, ProcessSandbox>();

  return {
    specificationVersion,
    providerId,
    capabilities: processProviderCapabilities,

    async create(request: CreateSandboxRequest, options: CallOptions = {}): Promise<Sandbox> {
      const { signal } = options;
      throwIfAborted(signal, providerId);
      let parsed: CreateSandboxRequest;
      try {
        parsed = parseCreateSandboxRequest(request);
      } catch (error) {
        // Core's validators know no provider; the error is this provider's.
        throw toSandportError(error, providerId);
      }
      assertRequestSupported(providerId, processProviderCapabilities, parsed);
      assertNoUnenforceableOptions(providerId, parsed);

      const root = await realpath(settings.rootDirectory ?? tmpdir());
      const workspace = await mkdtemp(join(root, "sandport-process-"));
      if (signal?.aborted) {
        // The caller gave up while the workspace was being made: nobody else would remove it.
        await rm(workspace, { recursive: true, force: true });
        throw new AbortedError("sandbox creation was aborted", { cause: signal.reason, providerId });
      }
      const vendorId = basename(workspace);
      let ttlTimer: ReturnType<typeof setTimeout> | undefined;
      const sandbox = new ProcessSandbox({
        id: encodeSandboxId(providerId, vendorId),
        providerId,
        workspace,
        env: parsed.env ?? {},
        labels: parsed.labels ?? {},
        onDestroyed: () => {
          clearTimeout(ttlTimer);
          sandboxes.delete(vendorId);
        },
      });
      sandboxes.set(vendorId, sandbox);
      if (parsed.ttlMs !== undefined) {
        // unref: a pending lifetime must not keep the test process alive.
        ttlTimer = setTimeout(() => void sandbox.destroy().catch(() => {}), parsed.ttlMs);
        ttlTimer.unref();
      }
      return sandbox;
    },

    async connect(sandboxId: string, options: CallOptions = {}): Promise<Sandbox> {
      throwIfAborted(options.signal, providerId);
      let vendorId: string;
      try {
        vendorId = vendorIdFor(providerId, sandboxId);
      } catch (error) {
        // Core's validators know no provider; the error is this provider's.
        throw toSandportError(error, providerId);
      }
      const sandbox = sandboxes.get(vendorId);
      if (sandbox === undefined) throw new NotFoundError(`no live sandbox "${sandboxId}"`, { providerId });
      return sandbox;
    },

    async *list(filter: ListFilter = {}, options: CallOptions = {}): AsyncIterable<SandboxInfo> {
      throwIfAborted(options.signal, providerId);
      const wanted = Object.entries(filter.labels ?? {});
      for (const sandbox of [...sandboxes.values()]) {
        const { labels } = sandbox.info;
        if (wanted.every(([key, value]) => labels[key] === value)) yield sandbox.info;
      }
    },
  };
}

/** Rejects request parts this provider would otherwise have to drop silently. */
function assertNoUnenforceableOptions(providerId: string, request: CreateSandboxRequest): void {
  const { cpu, memoryMb, diskMb } = request.resources ?? {};
  if (cpu !== undefined || memoryMb !== undefined || diskMb !== undefined) {
    // No limit is declared because none is enforced; accepting a size would silently ignore it.
    throw new UnsupportedCapabilityError(
      `provider "${providerId}" does not enforce resource limits (cpu, memoryMb, diskMb)`,
      { providerId },
    );
  }
  const own = request.providerOptions?.[providerId];
  if (own !== undefined && Object.keys(own).length > 0) {
    throw new InvalidRequestError(
      `providerOptions.${providerId}: the process provider takes no options (got ${Object.keys(own).join(", ")})`,
      { providerId },
    );
  }
}
