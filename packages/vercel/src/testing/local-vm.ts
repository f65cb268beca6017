/**
 * The Vercel fake's default VM: each session is one `@sandport/local` sandbox, so commands really
 * run (in fresh Linux namespaces) and files are really written. `@sandport/local` is an optional
 * peer dependency, loaded only when a session starts.
 *
 * Vercel's working directory `/vercel/sandbox` is the local sandbox's workspace `/workspace`: the
 * fake maps every path under `/vercel/sandbox` that arrives in a request (cwd, fs/read, fs/write,
 * fs/mkdir) onto `/workspace`. Commands therefore see `/workspace` as their working directory
 * (`pwd` prints it), and arguments are never rewritten.
 */
import { Buffer } from "node:buffer";
import { type Sandbox, type SandboxProvider, SandportError } from "@sandport/core";
import type { LocalProviderSettings } from "@sandport/local";
import {
  type FakeVm,
  type FakeVmCommand,
  FakeVmCwdError,
  type FakeVmExecutor,
  type FakeVmProcess,
  type FakeVmReadResult,
} from "./vercel-fake-vm.ts";

/** Vercel's working directory, and where the fake puts it. */
const vercelRoot = "/vercel/sandbox";
const localRoot = "/workspace";

// The fake passes on everything a command prints; the adapter under test applies the caller's cap.
const unlimitedOutputBytes = 256 * 1024 * 1024;

/** A Vercel path as the local sandbox names it. */
export function localPathOf(path: string): string {
  if (path === vercelRoot) return localRoot;
  if (path.startsWith(`${vercelRoot}/`)) return `${localRoot}${path.slice(vercelRoot.length)}`;
  return path;
}

function isCode(error: unknown, code: string): boolean {
  return SandportError.isInstance(error) && error.code === code;
}

class LocalVm implements FakeVm {
  readonly #sandbox: Sandbox;

  constructor(sandbox: Sandbox) {
    this.#sandbox = sandbox;
  }

  async spawn(command: FakeVmCommand): Promise<FakeVmProcess> {
    const spawn = this.#sandbox.spawn?.bind(this.#sandbox);
    if (spawn === undefined) throw new Error("the local sandbox cannot spawn (isolation none?)");
    let process: Awaited<ReturnType<typeof spawn>>;
    try {
      process = await spawn([...command.argv], {
        cwd: localPathOf(command.cwd),
        env: command.env,
        maxOutputBytes: unlimitedOutputBytes,
      });
    } catch (error) {
      if (isCode(error, "invalid_request")) throw new FakeVmCwdError(`no such directory: ${command.cwd}`);
      throw error;
    }
    // Vercel commands have no stdin: they read end of input at once.
    await process.closeStdin();
    const pump = async (chunks: AsyncIterable<string>, emit: (text: string) => void) => {
      for await (const chunk of chunks) emit(chunk);
    };
    const exited = Promise.all([
      pump(process.stdout, (text) => command.onStdout(text)),
      pump(process.stderr, (text) => command.onStderr(text)),
      process.wait(),
    ]).then(([, , result]) => result.exitCode);
    return { exited, kill: (signal) => process.kill(signal) };
  }

  async readFile(path: string): Promise<FakeVmReadResult> {
    const local = localPathOf(path);
    try {
      return { kind: "file", data: await this.#sandbox.readFile(local) };
    } catch (error) {
      if (isCode(error, "not_found")) return { kind: "missing" };
      if (!isCode(error, "invalid_request")) throw error;
    }
    // A directory, a link, or a path outside the workspace: read it the VM's way, with a command.
    const result = await this.#sandbox.exec(
      ["sh", "-c", '[ -d "$1" ] && exit 3; [ -f "$1" ] || exit 4; exec base64 -w 0 -- "$1"', "sh", local],
      { maxOutputBytes: unlimitedOutputBytes },
    );
    if (result.exitCode === 3) return { kind: "directory" };
    if (result.exitCode !== 0) return { kind: "missing" };
    return { kind: "file", data: new Uint8Array(Buffer.from(result.stdout, "base64")) };
  }

  async writeFile(path: string, data: Uint8Array): Promise<boolean> {
    const local = localPathOf(path);
    try {
      await this.#sandbox.writeFile(local, data);
      return true;
    } catch (error) {
      if (!isCode(error, "invalid_request")) throw error;
    }
    // Through a link, or outside the workspace: as the VM's own user would, with a command.
    const result = await this.#sandbox.exec(
      [
        "sh",
        "-c",
        '[ -d "$1" ] && exit 3; mkdir -p -- "$(dirname -- "$1")" && base64 -d > "$1"',
        "sh",
        local,
      ],
      { stdin: Buffer.from(data).toString("base64") },
    );
    return result.exitCode === 0;
  }

  async makeDirectory(path: string): Promise<boolean> {
    const result = await this.#sandbox.exec(["mkdir", "--", localPathOf(path)]);
    return result.exitCode === 0;
  }

  async exposePort(port: number): Promise<string> {
    const expose = this.#sandbox.exposePort?.bind(this.#sandbox);
    if (expose === undefined) throw new Error("the local sandbox cannot expose ports");
    return (await expose(port)).url;
  }

  async stop(): Promise<void> {
    await this.#sandbox.destroy();
  }
}

/**
 * An executor whose VMs are `@sandport/local` sandboxes made with `settings` (by default local's
 * defaults: a supervisor per sandbox, no network). A session with an allow-all policy gets network
 * only when `settings.allowNetwork` is set; otherwise it runs without (the fake cannot do better).
 */
export function createLocalVmExecutor(settings: LocalProviderSettings = {}): FakeVmExecutor {
  let provider: Promise<SandboxProvider> | undefined;
  return {
    async start(options) {
      provider ??= import("@sandport/local").then((local) => local.createLocalProvider(settings));
      const open = options.network === "open" && settings.allowNetwork === true;
      const sandbox = await (await provider).create(open ? { network: { egress: "open" } } : {});
      return new LocalVm(sandbox);
    },
    async dispose() {
      if (provider === undefined) return;
      const created = await provider;
      await created.dispose?.();
    },
  };
}
