/**
 * The sandbox bridge fake's default executor: each fake container is one `@sandport/local` sandbox, so
 * commands really run (in fresh Linux namespaces, with /workspace as their working area).
 * `@sandport/local` is an optional peer dependency, loaded only when a container starts.
 */
import { type Sandbox, type SandboxProvider, SandportError } from "@sandport/core";
import type { LocalProviderSettings } from "@sandport/local";
import type { ContainerExecutor, FakeContainer, FakeContainerExecRequest } from "./container-executor.ts";

// The fake streams everything a command prints; the adapter under test applies the caller's cap.
const unlimitedOutputBytes = 256 * 1024 * 1024;

/**
 * One output stream passed on as the bytes the command wrote. The local sandbox streams text, which
 * is those bytes exactly until something is not UTF-8 (a replacement character shows): from then
 * on the stream is held and, once the command ended, the rest is sent from the exact bytes of its
 * result. Output that is UTF-8 keeps its timing; other output arrives at the end.
 */
class ExactStream {
  readonly #emit: (chunk: Uint8Array) => void;
  readonly #encoder = new TextEncoder();
  readonly #held: Uint8Array[] = [];
  #sent = 0;
  #diverged = false;

  constructor(emit: (chunk: Uint8Array) => void) {
    this.#emit = emit;
  }

  text(chunk: string): void {
    const bytes = this.#encoder.encode(chunk);
    if (!this.#diverged && !chunk.includes("\uFFFD")) {
      this.#sent += bytes.byteLength;
      this.#emit(bytes);
      return;
    }
    this.#diverged = true;
    this.#held.push(bytes);
  }

  end(exact: Uint8Array | undefined): void {
    if (!this.#diverged) return;
    if (exact === undefined || exact.byteLength < this.#sent) {
      for (const bytes of this.#held) this.#emit(bytes);
      return;
    }
    if (exact.byteLength > this.#sent) this.#emit(exact.subarray(this.#sent));
  }
}

/** A local sandbox dressed as a container of the sandbox bridge. */
class LocalFakeContainer implements FakeContainer {
  readonly #sandbox: Sandbox;
  readonly #encoder = new TextEncoder();

  constructor(sandbox: Sandbox) {
    this.#sandbox = sandbox;
  }

  async exec(request: FakeContainerExecRequest) {
    const stdout = new ExactStream(request.onStdout);
    const stderr = new ExactStream(request.onStderr);
    try {
      // The container's session shell is bash: the bridge's `$'...'` quoting needs it (sh would not
      // read it). No timeout and no signal: nothing in the sandbox bridge passes either to the command.
      const result = await this.#sandbox.exec(["/bin/bash", "-c", request.command], {
        cwd: request.cwd,
        maxOutputBytes: unlimitedOutputBytes,
        onStdout: (text) => stdout.text(text),
        onStderr: (text) => stderr.text(text),
      });
      stdout.end(result.stdoutBytes);
      stderr.end(result.stderrBytes);
      return { exitCode: result.exitCode };
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
      // The sandbox bridge reads as root inside the container and follows links there; local refuses
      // them, so the fake reads such a path the container's way, with a command.
      if (SandportError.isInstance(error) && error.code === "invalid_request") return this.#readInside(path);
      throw error;
    }
  }

  async #readInside(path: string): Promise<Uint8Array | undefined> {
    const result = await this.#sandbox.exec(
      ["sh", "-c", '[ -d "$1" ] && exit 3; exec base64 -w 0 -- "$1"', "sh", path],
      { maxOutputBytes: unlimitedOutputBytes },
    );
    // The container's file service answers IS_DIRECTORY, which the sandbox bridge reports as a failed read.
    if (result.exitCode === 3) throw new Error(`Cannot perform this operation on a directory: ${path}`);
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
