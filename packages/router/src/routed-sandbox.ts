/**
 * A sandbox handed out by the router: the chosen provider's sandbox under the router's id
 * (`<router>:<provider>:<vendor id>`, so both the router and the owning provider can be read from
 * it), and destroying it also forgets it in the router's ledger. Optional methods exist exactly
 * when the provider's sandbox has them.
 */
import { type CallOptions, reattributedError, type Sandbox, toSandportError } from "@sandport/core";

/**
 * Wraps `sandbox` under `id`: its errors are answered under `routerId` (the provider that failed is
 * named in the message and kept as `cause`), and its destruction calls `forget` with the
 * provider's id once it succeeded.
 */
export function routedSandbox(
  sandbox: Sandbox,
  id: string,
  routerId: string,
  forget: (sandboxId: string) => void,
): Sandbox {
  const attributed = <T>(call: () => Promise<T>): Promise<T> =>
    call().catch((error: unknown) => {
      throw reattributedError(toSandportError(error), routerId);
    });
  const destroy = (options?: CallOptions) =>
    attributed(async () => {
      await sandbox.destroy(options);
      forget(sandbox.id);
    });
  const routed: Sandbox = {
    id,
    exec: (command, options) => attributed(() => sandbox.exec(command, options)),
    readFile: (path, options) => attributed(() => sandbox.readFile(path, options)),
    writeFile: (path, data, options) => attributed(() => sandbox.writeFile(path, data, options)),
    listFiles: (path, options) => attributed(() => sandbox.listFiles(path, options)),
    statFile: (path, options) => attributed(() => sandbox.statFile(path, options)),
    makeDirectory: (path, options) => attributed(() => sandbox.makeDirectory(path, options)),
    removeFile: (path, options) => attributed(() => sandbox.removeFile(path, options)),
    renameFile: (from, to, options) => attributed(() => sandbox.renameFile(from, to, options)),
    destroy,
    [Symbol.asyncDispose]: () => destroy(),
  };
  if (sandbox.runCode !== undefined) {
    const runCode = sandbox.runCode.bind(sandbox);
    routed.runCode = (code, options) => attributed(() => runCode(code, options));
  }
  if (sandbox.spawn !== undefined) {
    const spawn = sandbox.spawn.bind(sandbox);
    routed.spawn = (command, options) => attributed(() => spawn(command, options));
  }
  if (sandbox.exposePort !== undefined) {
    const exposePort = sandbox.exposePort.bind(sandbox);
    routed.exposePort = (port, options) => attributed(() => exposePort(port, options));
  }
  return routed;
}
