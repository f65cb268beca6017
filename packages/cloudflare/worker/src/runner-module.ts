/**
 * Source of the module that runs first in every fresh isolate. It captures console output,
 * mounts the sandbox's workspace, imports the caller's code (`main.js`) and reports the outcome
 * over RPC. It is plain JavaScript because it is handed to the Worker Loader as text.
 */

/** Module name of the caller's code inside the isolate (it shows in stack traces). */
export const userModuleName = "main.js";

/** Module name of the runner inside the isolate. */
export const runnerModuleName = "sandport-runner.js";

/** Where the workspace is mounted inside the isolate: workerd lets code write only under /tmp. */
export const isolateWorkspace = "/tmp/workspace";

/** The runner's source. */
export const runnerModuleSource = `
import { WorkerEntrypoint } from "cloudflare:workers";
import { format, inspect } from "node:util";

const workspace = ${JSON.stringify(isolateWorkspace)};
const encoder = new TextEncoder();

/** Captured text of one stream, cut at a byte limit on a character boundary. */
class CapturedStream {
  constructor(limit) {
    this.limit = limit;
    this.parts = [];
    this.bytes = 0;
    this.truncated = false;
  }
  write(text) {
    if (this.truncated) return;
    const encoded = encoder.encode(text);
    if (this.bytes + encoded.byteLength <= this.limit) {
      this.parts.push(text);
      this.bytes += encoded.byteLength;
      return;
    }
    const room = encoded.subarray(0, this.limit - this.bytes);
    this.parts.push(new TextDecoder().decode(room, { stream: true }));
    this.bytes = this.limit;
    this.truncated = true;
  }
  text() {
    return this.parts.join("");
  }
}

/** Thrown by process.exit() so the run ends with that exit code. */
class ExitRequest {
  constructor(code) {
    this.code = code;
  }
}

function installConsole(stdout, stderr, withProcess) {
  const line = (stream) => (...values) => stream.write(format(...values) + "\\n");
  console.log = console.info = console.debug = line(stdout);
  console.error = console.warn = line(stderr);
  console.trace = (...values) => stderr.write("Trace: " + format(...values) + "\\n" + (new Error().stack ?? "").split("\\n").slice(2).join("\\n") + "\\n");
  console.dir = (value, options) => stdout.write(inspect(value, options) + "\\n");
  console.assert = (condition, ...values) => {
    if (!condition) stderr.write("Assertion failed" + (values.length > 0 ? ": " + format(...values) : "") + "\\n");
  };
  if (!withProcess) return;
  process.stdout.write = (chunk) => (stdout.write(String(chunk)), true);
  process.stderr.write = (chunk) => (stderr.write(String(chunk)), true);
}

function describeError(error) {
  if (error instanceof Error) return error.stack ?? String(error);
  return "Uncaught " + inspect(error);
}

function toJson(value) {
  if (value === undefined || typeof value === "function" || typeof value === "symbol") return undefined;
  try {
    return JSON.stringify(value);
  } catch {
    return JSON.stringify(inspect(value));
  }
}

function parentOf(path) {
  return path.slice(0, path.lastIndexOf("/"));
}

function mount(fs, files) {
  fs.mkdirSync(workspace, { recursive: true });
  for (const [path, bytes] of Object.entries(files)) {
    const target = workspace + "/" + path;
    fs.mkdirSync(parentOf(target), { recursive: true });
    fs.writeFileSync(target, bytes);
  }
  process.chdir(workspace);
}

/** Every regular file under the workspace; links and special files are not part of it. */
function collect(fs) {
  const files = {};
  const pending = [""];
  while (pending.length > 0) {
    const directory = pending.pop();
    let entries;
    try {
      entries = fs.readdirSync(workspace + directory, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const entry of entries) {
      const relative = directory + "/" + entry.name;
      if (entry.isDirectory()) pending.push(relative);
      else if (entry.isFile()) files[relative.slice(1)] = new Uint8Array(fs.readFileSync(workspace + relative));
    }
  }
  return files;
}

export default class SandportRunner extends WorkerEntrypoint {
  async run(input) {
    const stdout = new CapturedStream(input.maxOutputBytes);
    const stderr = new CapturedStream(input.maxOutputBytes);
    installConsole(stdout, stderr, input.process);
    // The first touch of \`process\` costs a few ms per isolate, so only code that names it pays.
    if (input.process) {
      process.exit = (code) => {
        throw new ExitRequest(Number(code ?? 0) || 0);
      };
      Object.assign(process.env, input.env);
    }
    const fs = input.files === undefined ? undefined : await import("node:fs");
    if (fs !== undefined) mount(fs, input.files);
    let exitCode = 0;
    let valueJson;
    try {
      const module = await import(${JSON.stringify(`./${userModuleName}`)});
      let value = module.default;
      value = typeof value === "function" ? await value() : await value;
      valueJson = toJson(value);
    } catch (error) {
      if (error instanceof ExitRequest) {
        exitCode = error.code;
      } else {
        exitCode = 1;
        stderr.write(describeError(error) + "\\n");
      }
    }
    return {
      exitCode,
      stdout: stdout.text(),
      stderr: stderr.text(),
      truncated: stdout.truncated || stderr.truncated,
      valueJson,
      files: fs === undefined ? undefined : collect(fs),
    };
  }
}
`;
