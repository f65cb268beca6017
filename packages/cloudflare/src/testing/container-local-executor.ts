/**
 * The bridge fake's default executor: each fake container is one `@sandport/local` sandbox, so
 * commands really run (in fresh Linux namespaces, with /workspace as their working area).
 * `@sandport/local` is an optional peer dependency, loaded only when a container starts.
 */
import { type Sandbox, type SandboxProvider, SandportError } from "@sandport/core";
import type { LocalProviderSettings } from "@sandport/local";
import type { ContainerExecutor, FakeContainer, FakeContainerExecRequest } from "./container-executor.ts";

// The fake streams everything a command prints; the adapter under test applies the caller's cap.
const unlimitedOutputBytes = 256 * 1024 * 1024;

/** A local sandbox dressed as a container of the bridge. */
class LocalFakeContainer implements FakeContainer {
  readonly #sandbox: Sandbox;
  readonly #encoder = new TextEncoder();

  constructor(sandbox: Sandbox) {
    this.#sandbox = sandbox;
  }

  async exec(request: FakeContainerExecRequest) {
    try {
      const result = await this.#sandbox.exec([...request.argv], {
        cwd: request.cwd,
        ...(request.timeoutMs === undefined ? {} : { timeoutMs: request.timeoutMs }),
        signal: request.signal,
        maxOutputBytes: unlimitedOutputBytes,
        onStdout: (text) => request.onStdout(this.#encoder.encode(text)),
        onStderr: (text) => request.onStderr(this.#encoder.encode(text)),
      });
      return result.timedOut ? { timedOut: true as const } : { exitCode: result.exitCode };
    } catch (error) {
      // A cwd that is not a directory: the container's shell reports it on stderr and exits 1.
      if (SandportError.isInstance(error) && error.code === "invalid_request") {
        request.onStderr(this.#encoder.encode(`sh: cd: ${request.cwd}: No such file or directory\n`));
        return { exitCode: 1 };
      }
      throw error;
    }
  }

  async readFile(path: string): Promise<Uint8Array | undefined> {
    try {
      return await this.#sandbox.readFile(path);
    } catch (error) {
      if (SandportError.isInstance(error) && error.code === "not_found") return undefined;
      // The bridge reads as root inside the container and follows links there; local refuses
      // them, so the fake reads such a path the container's way, with a command.
      if (SandportError.isInstance(error) && error.code === "invalid_request") return this.#readInside(path);
      throw error;
    }
  }

  async #readInside(path: string): Promise<Uint8Array | undefined> {
    const result = await this.#sandbox.exec(["base64", "-w", "0", "--", path], {
      maxOutputBytes: unlimitedOutputBytes,
    });
    if (result.exitCode !== 0) return undefined;
    return new Uint8Array(Buffer.from(result.stdout, "base64"));
  }

  async writeFile(path: string, data: Uint8Array): Promise<void> {
    try {
      await this.#sandbox.writeFile(path, data);
    } catch (error) {
      if (!SandportError.isInstance(error) || error.code !== "invalid_request") throw error;
      // As for reads: the container writes through links, inside the container.
      const result = await this.#sandbox.exec(["sh", "-c", 'base64 -d > "$1"', "sh", path], {
        stdin: Buffer.from(data).toString("base64"),
      });
      if (result.exitCode !== 0) throw error;
    }
  }

  async stop(): Promise<void> {
    await this.#sandbox.destroy();
  }
}

/**
 * An executor whose containers are `@sandport/local` sandboxes made with `settings` (by default
 * local's defaults: a supervisor per sandbox, no network).
 */
export function createLocalContainerExecutor(settings: LocalProviderSettings = {}): ContainerExecutor {
  let provider: Promise<SandboxProvider> | undefined;
  return {
    async start() {
      provider ??= import("@sandport/local").then((local) => local.createLocalProvider(settings));
      return new LocalFakeContainer(await (await provider).create({}));
    },
  };
}
