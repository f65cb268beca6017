/**
 * The running supervisors of one provider instance, one per sandbox. A sandbox whose supervisor
 * is gone (a restarted host, a crash, an out-of-memory kill) gets a new one on the same workspace
 * at its next call: its processes are gone, its files stay.
 */
import { relative } from "node:path";
import { SandboxFailedError } from "@sandport/core";
import { ExposedPorts } from "./exposed-ports.ts";
import type { LocalEnvironment } from "./local-environment.ts";
import { type SandboxRecord, sandboxPaths } from "./sandbox-store.ts";
import { SupervisorConnection } from "./supervisor-connection.ts";

const mebibyte = 1024 * 1024;

/** The CONFIG frame of a sandbox: host data from settings and the record, never request env. */
function supervisorConfig(environment: LocalEnvironment, record: SandboxRecord): Array<[string, string]> {
  const { settings } = environment;
  const paths = sandboxPaths(settings.stateDirectory, record.vendorId);
  const perSandbox = environment.cgroups !== undefined;
  // Paths inside the state directory travel relative to it: the supervisor mounts them as overlays
  // whose options the sandbox can read, and they must name nothing of the host.
  const inState = (path: string) => relative(settings.stateDirectory, path);
  const config: Array<[string, string]> = [
    ["root", paths.rootMountPoint],
    ["state", settings.stateDirectory],
    ["skeleton", inState(environment.skeleton.path)],
    ["empty", inState(environment.emptyDirectory)],
    ["sandbox", inState(paths.directory)],
    ["node-directory", inState(environment.nodeDirectory)],
    ...environment.skeleton.systemDirectories.map((directory): [string, string] => ["system", directory]),
    ["tmp-bytes", String(settings.tmpSizeMb * mebibyte)],
    ["network", record.network ? "1" : "0"],
    ["file-bytes", String(settings.fileSizeMb * mebibyte)],
    ["open-files", String(settings.openFiles)],
    ["cpu-seconds", String(settings.cpuSeconds)],
  ];
  // With a cgroup, memory and processes are bounded for the sandbox as a whole; without one, per process.
  if (!perSandbox) {
    config.push(["processes", String(settings.processes)]);
    config.push(["data-bytes", String(record.memoryMb * mebibyte)]);
  }
  if (record.cpu !== undefined) config.push(["cpus", String(Math.ceil(record.cpu))]);
  return config;
}

/** Live supervisors by vendor id. */
export class SandboxRuntimes {
  readonly #environment: LocalEnvironment;
  readonly #running = new Map<string, Promise<SupervisorConnection>>();
  /** Ports exposed on the host's loopback, relayed through each sandbox's supervisor. */
  readonly ports = new ExposedPorts();

  constructor(environment: LocalEnvironment) {
    this.#environment = environment;
  }

  /** The sandbox's supervisor, started when it has none (or its previous one died). */
  connectionFor(record: SandboxRecord): Promise<SupervisorConnection> {
    const existing = this.#running.get(record.vendorId);
    if (existing !== undefined) {
      return existing.then(
        (connection) => (connection.alive ? connection : this.#replace(record, existing)),
        () => this.#replace(record, existing),
      );
    }
    return this.#start(record);
  }

  #replace(record: SandboxRecord, previous: Promise<SupervisorConnection>): Promise<SupervisorConnection> {
    // Several calls may notice the death at once: only the first starts a successor.
    if (this.#running.get(record.vendorId) !== previous) return this.connectionFor(record);
    return this.#start(record);
  }

  #start(record: SandboxRecord): Promise<SupervisorConnection> {
    const environment = this.#environment;
    const { settings } = environment;
    const starting = (async () => {
      const cgroup =
        environment.cgroups === undefined
          ? undefined
          : await environment.cgroups.create(record).catch((error: unknown) => {
              throw new SandboxFailedError("cannot create the sandbox's cgroup", {
                cause: error,
                providerId: settings.providerId,
              });
            });
      return SupervisorConnection.start({
        binary: environment.supervisorBinary,
        runAsUid: environment.runAsUid,
        config: supervisorConfig(environment, record),
        providerId: settings.providerId,
        ...(cgroup === undefined ? {} : { beforeSetup: (pid: number) => cgroup.addProcess(pid) }),
      });
    })();
    this.#running.set(record.vendorId, starting);
    starting.catch(() => {
      if (this.#running.get(record.vendorId) === starting) this.#running.delete(record.vendorId);
    });
    return starting;
  }

  /** Stops a sandbox's supervisor (every process in it dies) and waits until it is gone. */
  async stop(vendorId: string): Promise<void> {
    await this.ports.close(vendorId);
    const running = this.#running.get(vendorId);
    this.#running.delete(vendorId);
    const connection = await running?.catch(() => undefined);
    await connection?.close();
    await this.#environment.cgroups?.remove(vendorId);
  }

  /** Stops every supervisor of this provider instance. */
  async stopAll(): Promise<void> {
    await this.ports.closeAll();
    await Promise.all([...this.#running.keys()].map((vendorId) => this.stop(vendorId)));
  }
}
