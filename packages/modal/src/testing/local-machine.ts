/**
 * The Modal fake's default machine: each Modal sandbox is one `@sandport/local` sandbox, so
 * commands really run (in fresh Linux namespaces) and files are really written. The sandbox's
 * working directory is `/workspace` on both sides, so no path is rewritten. `@sandport/local` is
 * an optional peer dependency, loaded only when a sandbox starts.
 */
import { type Sandbox, type SandboxProvider, SandportError } from "@sandport/core";
import type { LocalProviderSettings } from "@sandport/local";
import {
  type ModalFakeCommand,
  ModalFakeCwdError,
  type ModalFakeExecutor,
  type ModalFakeMachine,
  type ModalFakeProcess,
} from "./modal-fake-machine.ts";

// The fake passes on everything a command prints; the adapter under test applies the caller's cap.
const unlimitedOutputBytes = 256 * 1024 * 1024;

class LocalMachine implements ModalFakeMachine {
  readonly #sandbox: Sandbox;

  constructor(sandbox: Sandbox) {
    this.#sandbox = sandbox;
  }

  async spawn(command: ModalFakeCommand): Promise<ModalFakeProcess> {
    const spawn = this.#sandbox.spawn?.bind(this.#sandbox);
    if (spawn === undefined) throw new Error("the local sandbox cannot spawn (isolation none?)");
    try {
      const process = await spawn([...command.argv], {
        cwd: command.cwd,
        env: command.env,
        maxOutputBytes: unlimitedOutputBytes,
      });
      return {
        stdout: process.stdout,
        stderr: process.stderr,
        exited: process.wait().then((result) => result.exitCode),
        writeStdin: (data) => process.writeStdin(data),
        closeStdin: () => process.closeStdin(),
        kill: (signal) => process.kill(signal),
      };
    } catch (error) {
      if (SandportError.isInstance(error) && error.code === "invalid_request") {
        throw new ModalFakeCwdError(`no such directory: ${command.cwd}`);
      }
      throw error;
    }
  }

  async stop(): Promise<void> {
    await this.#sandbox.destroy();
  }
}

/**
 * An executor whose machines are `@sandport/local` sandboxes made with `settings` (by default
 * local's defaults: a supervisor per sandbox, no network). An open sandbox gets network only when
 * `settings.allowNetwork` is set.
 */
export function createLocalMachineExecutor(settings: LocalProviderSettings = {}): ModalFakeExecutor {
  let provider: Promise<SandboxProvider> | undefined;
  return {
    async start(options) {
      provider ??= import("@sandport/local").then((local) => local.createLocalProvider(settings));
      const open = options.network === "open" && settings.allowNetwork === true;
      const sandbox = await (await provider).create(open ? { network: { egress: "open" } } : {});
      return new LocalMachine(sandbox);
    },
    async dispose() {
      if (provider === undefined) return;
      const created = await provider;
      await created.dispose?.();
    },
  };
}
