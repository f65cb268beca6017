/**
 * One running sandbox supervisor and its channel: starts it, sends requests, routes what comes
 * back to the request it answers. A supervisor that dies, or sends anything malformed, fails every
 * pending request of its own sandbox with `sandbox_failed`; other sandboxes are unaffected.
 */
import { type ChildProcess, spawn } from "node:child_process";
import type { Socket } from "node:net";
import { SandboxFailedError } from "@sandport/core";
import {
  dataChunkBytes,
  decodeFileEntries,
  encodeFrame,
  type FileEntry,
  type Frame,
  FrameDecoder,
  HostMessage,
  nulTerminated,
  RequestErrorKind,
  SupervisorMessage,
  u32,
  u64,
} from "./supervisor-protocol.ts";

/** How to start a supervisor. Host data only: nothing here comes from a request. */
export interface SupervisorStartOptions {
  /** Host path of the supervisor binary, executable by `runAsUid`. */
  binary: string;
  /** As root: the unprivileged uid and gid the supervisor (and so the whole sandbox) runs as. */
  runAsUid: number | undefined;
  /** The CONFIG frame's key/value pairs, in order (a key may repeat). */
  config: ReadonlyArray<readonly [string, string]>;
  /** Runs after the process exists and before it builds the sandbox (to put it in a cgroup). */
  beforeSetup?: (pid: number) => Promise<void>;
  providerId: string;
}

/** A request the supervisor refused, as it classified it (see `RequestErrorKind`). */
export class SupervisorRequestError extends Error {
  readonly kind: number;
  readonly errno: number;
  constructor(kind: number, errno: number) {
    super(`supervisor request failed (kind ${kind}, errno ${errno})`);
    this.kind = kind;
    this.errno = errno;
  }
}

/** What a started process reports. */
export interface ProcessEvents {
  onStdout(chunk: Buffer): void;
  onStderr(chunk: Buffer): void;
}

/** A process the supervisor runs for us. */
export interface SupervisedProcess {
  /** Resolves once it runs; rejects with `SupervisorRequestError` (bad cwd, execve failed) or `SandboxFailedError`. */
  readonly started: Promise<void>;
  /** Resolves with the exit code (128+n for a signal) once it ended and its output is drained. */
  readonly exited: Promise<number>;
  writeStdin(data: Uint8Array): void;
  closeStdin(): void;
  signal(signalNumber: number): void;
  /** Stop reading stdout (1) or stderr (2): a writer then gets SIGPIPE. */
  closeOutput(stream: 1 | 2): void;
}

/** How long a supervisor may take to exit after its channel closed before it is killed. */
const closeGraceMs = 2000;

interface PendingRequest {
  onFrame(frame: Frame): void;
  onFailure(error: Error): void;
}

/** One supervisor process and its channel. */
export class SupervisorConnection {
  readonly #child: ChildProcess;
  readonly #channel: Socket;
  readonly #providerId: string;
  readonly #pending = new Map<number, PendingRequest>();
  #nextId = 1;
  #failure: Error | undefined;
  #stopping = false;
  readonly #ended: Promise<void>;

  private constructor(child: ChildProcess, channel: Socket, providerId: string) {
    this.#child = child;
    this.#channel = channel;
    this.#providerId = providerId;
    const decoder = new FrameDecoder(
      (frame) => this.#route(frame),
      (reason) => this.#fail(`the sandbox supervisor broke the protocol (${reason})`),
    );
    channel.on("data", (chunk: Buffer) => decoder.push(chunk));
    channel.on("error", () => {});
    this.#ended = new Promise((resolve) => {
      channel.on("close", () => {
        this.#fail("the sandbox supervisor stopped");
        resolve();
      });
    });
  }

  /** Starts a supervisor and waits until its sandbox is built. */
  static async start(options: SupervisorStartOptions): Promise<SupervisorConnection> {
    // A fixed, empty environment and an absolute path: nothing of the host or a request leaks in.
    const child = spawn(options.binary, [], {
      // Its command line is visible inside the sandbox (/proc/1/cmdline): no host path there.
      argv0: "sandport-supervisor",
      env: {},
      cwd: "/",
      stdio: ["ignore", "ignore", "ignore", "pipe"],
      ...(options.runAsUid === undefined ? {} : { uid: options.runAsUid, gid: options.runAsUid }),
    });
    const spawned = new Promise<void>((resolve, reject) => {
      child.once("spawn", resolve);
      child.once("error", reject);
    });
    try {
      await spawned;
    } catch (error) {
      throw new SandboxFailedError("cannot start the sandbox supervisor", {
        cause: error,
        providerId: options.providerId,
      });
    }
    const connection = new SupervisorConnection(child, child.stdio[3] as Socket, options.providerId);
    try {
      if (options.beforeSetup !== undefined && child.pid !== undefined) await options.beforeSetup(child.pid);
      await connection.#handshake(options.config);
    } catch (error) {
      await connection.close();
      throw error;
    }
    return connection;
  }

  #handshake(config: SupervisorStartOptions["config"]): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#pending.set(0, {
        onFrame: (frame) => {
          this.#pending.delete(0);
          if (frame.type === SupervisorMessage.ready) {
            resolve();
            return;
          }
          if (frame.type === SupervisorMessage.setupFailed && frame.payload.byteLength >= 4) {
            const errno = frame.payload.readUInt32LE(0);
            // The step is the supervisor's own fixed text; keep it printable and short anyway.
            const step = frame.payload
              .subarray(4, 84)
              .toString("latin1")
              .replace(/[^ -~]/g, "?");
            reject(
              new SandboxFailedError(`sandbox setup failed: cannot ${step} (errno ${errno})`, {
                providerId: this.#providerId,
                isRetryable: false,
              }),
            );
            return;
          }
          reject(this.#failureError("the sandbox supervisor answered its setup with an unexpected message"));
        },
        onFailure: reject,
      });
      this.#send(HostMessage.config, 0, nulTerminated(config.flat()));
    });
  }

  /** Whether the supervisor still serves requests. */
  get alive(): boolean {
    return this.#failure === undefined;
  }

  /** The supervisor's host pid (for cgroup and test bookkeeping). */
  get pid(): number | undefined {
    return this.#child.pid;
  }

  #failureError(message: string): Error {
    return new SandboxFailedError(message, { providerId: this.#providerId });
  }

  #fail(message: string): void {
    if (this.#failure !== undefined) return;
    this.#failure = this.#failureError(message);
    for (const request of this.#pending.values()) request.onFailure(this.#failure);
    this.#pending.clear();
    // Stopping on purpose lets PID 1 exit by itself (see close); a broken supervisor is killed.
    if (!this.#stopping) this.#child.kill("SIGKILL");
    this.#channel.destroy();
  }

  #route(frame: Frame): void {
    const request = this.#pending.get(frame.id);
    if (request === undefined) {
      this.#fail(`the sandbox supervisor answered request ${frame.id}, which is not pending`);
      return;
    }
    request.onFrame(frame);
  }

  #send(type: number, id: number, payload?: Uint8Array): boolean {
    if (this.#failure !== undefined) return false;
    return this.#channel.write(encodeFrame(type, id, payload));
  }

  #newId(): number {
    const id = this.#nextId;
    this.#nextId = this.#nextId >= 0xffff_fff0 ? 1 : this.#nextId + 1;
    return id;
  }

  #register(id: number, request: PendingRequest): void {
    if (this.#failure !== undefined) {
      request.onFailure(this.#failure);
      return;
    }
    this.#pending.set(id, request);
  }

  /** Waits until the channel can take more (large writes and stdin keep memory bounded). */
  async #drained(): Promise<void> {
    if (!this.#channel.writableNeedDrain || this.#failure !== undefined) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        this.#channel.off("drain", done);
        this.#channel.off("close", done);
        resolve();
      };
      this.#channel.on("drain", done);
      this.#channel.on("close", done);
    });
  }

  /** Starts a process: argv, env and cwd reach only its execve, inside the sandbox. */
  startProcess(
    request: {
      argv: readonly string[];
      env: Readonly<Record<string, string>>;
      cwd: string;
      stdinOpen: boolean;
    },
    events: ProcessEvents,
  ): SupervisedProcess {
    const id = this.#newId();
    let resolveStarted!: () => void;
    let rejectStarted!: (error: Error) => void;
    let resolveExited!: (code: number) => void;
    let rejectExited!: (error: Error) => void;
    const started = new Promise<void>((resolve, reject) => {
      resolveStarted = resolve;
      rejectStarted = reject;
    });
    const exited = new Promise<number>((resolve, reject) => {
      resolveExited = resolve;
      rejectExited = reject;
    });
    // Whoever awaits only one of the two must not see the other as an unhandled rejection.
    started.catch(() => {});
    exited.catch(() => {});
    const fail = (error: Error) => {
      this.#pending.delete(id);
      rejectStarted(error);
      rejectExited(error);
    };
    this.#register(id, {
      onFrame: (frame) => {
        switch (frame.type) {
          case SupervisorMessage.started:
            resolveStarted();
            return;
          case SupervisorMessage.stdout:
            events.onStdout(frame.payload);
            return;
          case SupervisorMessage.stderr:
            events.onStderr(frame.payload);
            return;
          case SupervisorMessage.exit:
            if (frame.payload.byteLength !== 4) break;
            this.#pending.delete(id);
            resolveStarted();
            resolveExited(Math.min(Math.max(frame.payload.readInt32LE(0), 0), 255));
            return;
          case SupervisorMessage.error:
            if (frame.payload.byteLength !== 8) break;
            fail(new SupervisorRequestError(frame.payload.readUInt32LE(0), frame.payload.readUInt32LE(4)));
            return;
        }
        this.#fail(`the sandbox supervisor sent message ${frame.type} for a process`);
      },
      onFailure: fail,
    });
    const env = Object.entries(request.env).map(([name, value]) => `${name}=${value}`);
    this.#send(
      HostMessage.exec,
      id,
      Buffer.concat([
        u32(request.stdinOpen ? 1 : 0),
        u32(request.argv.length),
        u32(env.length),
        nulTerminated([request.cwd, ...request.argv, ...env]),
      ]),
    );
    return {
      started,
      exited,
      writeStdin: (data) => {
        for (let offset = 0; offset < data.byteLength; offset += dataChunkBytes) {
          this.#send(HostMessage.stdin, id, data.subarray(offset, offset + dataChunkBytes));
        }
      },
      closeStdin: () => this.#send(HostMessage.stdin, id),
      signal: (signalNumber) => this.#send(HostMessage.signal, id, u32(signalNumber)),
      closeOutput: (stream) => this.#send(HostMessage.closeOutput, id, u32(stream)),
    };
  }

  /** Reads a regular file inside the sandbox; at most `maxBytes`. */
  readFile(path: string, maxBytes: number): Promise<Buffer> {
    const id = this.#newId();
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      this.#register(id, {
        onFrame: (frame) => {
          if (frame.type === SupervisorMessage.fileData) {
            size += frame.payload.byteLength;
            // Copies: the frame's bytes are a view into the channel's receive buffer.
            if (size <= maxBytes) chunks.push(Buffer.from(frame.payload));
            else this.#fail("the sandbox supervisor sent more file data than asked for");
            return;
          }
          this.#pending.delete(id);
          if (frame.type === SupervisorMessage.ok) resolve(Buffer.concat(chunks, size));
          else if (frame.type === SupervisorMessage.error && frame.payload.byteLength === 8)
            reject(new SupervisorRequestError(frame.payload.readUInt32LE(0), frame.payload.readUInt32LE(4)));
          else this.#fail(`the sandbox supervisor sent message ${frame.type} for a file read`);
        },
        onFailure: reject,
      });
      this.#send(HostMessage.readFile, id, Buffer.concat([u64(maxBytes), Buffer.from(path)]));
    });
  }

  /** Sends a request answered by OK (after FILE_DATA entries, for listings) or ERROR. */
  #request(type: number, payload: Uint8Array, maxEntries = Number.POSITIVE_INFINITY): Promise<FileEntry[]> {
    const id = this.#newId();
    return new Promise((resolve, reject) => {
      const entries: FileEntry[] = [];
      this.#register(id, {
        onFrame: (frame) => {
          if (frame.type === SupervisorMessage.fileData) {
            try {
              entries.push(...decodeFileEntries(frame.payload));
            } catch (error) {
              this.#fail(`the sandbox supervisor sent ${(error as Error).message}`);
              return;
            }
            if (entries.length > maxEntries)
              this.#fail("the sandbox supervisor sent more entries than asked for");
            return;
          }
          this.#pending.delete(id);
          if (frame.type === SupervisorMessage.ok) resolve(entries);
          else if (frame.type === SupervisorMessage.error && frame.payload.byteLength === 8)
            reject(new SupervisorRequestError(frame.payload.readUInt32LE(0), frame.payload.readUInt32LE(4)));
          else this.#fail(`the sandbox supervisor sent message ${frame.type} for a file call`);
        },
        onFailure: reject,
      });
      this.#send(type, id, payload);
    });
  }

  /** Lists a directory inside the sandbox (absolute paths, links not followed). */
  listFiles(path: string, recursive: boolean, maxEntries: number): Promise<FileEntry[]> {
    return this.#request(
      HostMessage.listFiles,
      Buffer.concat([u32(recursive ? 1 : 0), u32(maxEntries), Buffer.from(path)]),
      maxEntries,
    );
  }

  /** Describes one entry (a final link is not followed). */
  async statFile(path: string): Promise<FileEntry> {
    const [entry, ...rest] = await this.#request(HostMessage.statFile, Buffer.from(path), 1);
    if (entry === undefined || rest.length > 0) {
      this.#fail("the sandbox supervisor described a file with other than one entry");
      throw this.#failureError("the sandbox supervisor stopped");
    }
    return entry;
  }

  async makeDirectory(path: string, recursive: boolean): Promise<void> {
    await this.#request(
      HostMessage.makeDirectory,
      Buffer.concat([u32(recursive ? 1 : 0), Buffer.from(path)]),
      0,
    );
  }

  /** Removes a file, a link itself, or an empty directory. */
  async removeFile(path: string): Promise<void> {
    await this.#request(HostMessage.removeFile, Buffer.from(path), 0);
  }

  async renameFile(from: string, to: string): Promise<void> {
    const source = Buffer.from(from);
    await this.#request(
      HostMessage.renameFile,
      Buffer.concat([u32(source.byteLength), source, Buffer.from(to)]),
      0,
    );
  }

  /**
   * Opens a TCP connection to `port` on the sandbox's loopback. `onData` gets its bytes, then an
   * empty chunk at its end of stream. Resolves once connected; rejects with
   * `SupervisorRequestError` (kind `refused`) when nothing listens there.
   */
  async openPortConnection(
    port: number,
    onData: (chunk: Buffer) => void,
  ): Promise<{ write(data: Uint8Array): void; end(): void; close(): void }> {
    const id = this.#newId();
    await new Promise<void>((resolve, reject) => {
      let connected = false;
      this.#register(id, {
        onFrame: (frame) => {
          if (!connected && frame.type === SupervisorMessage.ok) {
            connected = true;
            resolve();
            return;
          }
          if (!connected && frame.type === SupervisorMessage.error && frame.payload.byteLength === 8) {
            this.#pending.delete(id);
            reject(new SupervisorRequestError(frame.payload.readUInt32LE(0), frame.payload.readUInt32LE(4)));
            return;
          }
          if (connected && frame.type === SupervisorMessage.connectionData) {
            // Copied: the frame's bytes are a view into the channel's receive buffer.
            onData(Buffer.from(frame.payload));
            return;
          }
          this.#fail(`the sandbox supervisor sent message ${frame.type} for a port connection`);
        },
        onFailure: (error) => {
          if (connected) onData(Buffer.alloc(0));
          else reject(error);
        },
      });
      this.#send(HostMessage.connect, id, u32(port));
    });
    return {
      write: (data) => {
        for (let offset = 0; offset < data.byteLength; offset += dataChunkBytes) {
          this.#send(HostMessage.connectionData, id, data.subarray(offset, offset + dataChunkBytes));
        }
      },
      end: () => this.#send(HostMessage.connectionData, id),
      close: () => {
        this.#pending.delete(id);
        this.#send(HostMessage.connectionClose, id);
      },
    };
  }

  /** Writes (creates or truncates) a regular file inside the sandbox, creating its parents. */
  async writeFile(path: string, data: Uint8Array, mode = 0o644): Promise<void> {
    const id = this.#newId();
    const answered = new Promise<void>((resolve, reject) => {
      this.#register(id, {
        onFrame: (frame) => {
          this.#pending.delete(id);
          if (frame.type === SupervisorMessage.ok) resolve();
          else if (frame.type === SupervisorMessage.error && frame.payload.byteLength === 8)
            reject(new SupervisorRequestError(frame.payload.readUInt32LE(0), frame.payload.readUInt32LE(4)));
          else this.#fail(`the sandbox supervisor sent message ${frame.type} for a file write`);
        },
        onFailure: reject,
      });
    });
    answered.catch(() => {});
    this.#send(HostMessage.writeOpen, id, Buffer.concat([u32(mode), Buffer.from(path)]));
    for (let offset = 0; offset < data.byteLength; offset += dataChunkBytes) {
      this.#send(HostMessage.writeData, id, data.subarray(offset, offset + dataChunkBytes));
      await this.#drained();
    }
    this.#send(HostMessage.writeClose, id);
    return answered;
  }

  /**
   * Stops the supervisor: every process of its sandbox dies with it. Resolves once all of them are
   * gone. Closing the channel makes PID 1 exit; the kernel then kills the rest of its pid
   * namespace, and the first process exits only after that, so its exit means "all gone".
   */
  async close(): Promise<void> {
    const exited =
      this.#child.exitCode !== null || this.#child.signalCode !== null
        ? Promise.resolve()
        : new Promise<void>((resolve) => this.#child.once("exit", () => resolve()));
    this.#stopping = true;
    this.#fail("the sandbox was stopped");
    // A supervisor that does not go by itself (stopped, or hostile) is killed.
    const killer = setTimeout(() => this.#child.kill("SIGKILL"), closeGraceMs);
    await exited;
    clearTimeout(killer);
    await this.#ended;
  }
}

export { RequestErrorKind };
