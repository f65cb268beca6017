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

// Taken before the caller's code runs, which shares this isolate and may patch any global or
// prototype. The isolate Worker checks every figure of the reply again; these keep the runner's own
// captures honest.
const apply = Reflect.apply;
const encode = TextEncoder.prototype.encode;
const decode = TextDecoder.prototype.decode;
const stringify = JSON.stringify;
const toText = String;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

function byteLengthOf(text) {
  return apply(encode, encoder, [text]).byteLength;
}

/**
 * Captured text of one stream, cut at a byte limit on a character boundary. What is kept also goes
 * to \`combined\` (a captured stream both share, with the same limit), so it holds their output in
 * the order it was written. Kept as one string: concatenation calls no patchable method.
 */
class CapturedStream {
  constructor(limit, combined) {
    this.limit = limit;
    this.combined = combined;
    this.kept = "";
    this.bytes = 0;
    this.truncated = false;
  }
  write(value) {
    if (this.truncated) return;
    const text = typeof value === "string" ? value : toText(value);
    const encoded = apply(encode, encoder, [text]);
    if (this.bytes + encoded.byteLength <= this.limit) {
      this.keep(text);
      this.bytes += encoded.byteLength;
      return;
    }
    const room = new Uint8Array(encoded.buffer, 0, this.limit - this.bytes);
    this.keep(apply(decode, decoder, [room, { stream: true }]));
    this.bytes = this.limit;
    this.truncated = true;
  }
  keep(text) {
    this.kept = this.kept + text;
    if (this.combined !== undefined) this.combined.write(text);
  }
  text() {
    return this.kept;
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
  let json;
  try {
    json = stringify(value);
  } catch {
    json = stringify(inspect(value));
  }
  return typeof json === "string" ? json : undefined;
}

function parentOf(path) {
  return path.slice(0, path.lastIndexOf("/"));
}

/** The fs functions the runner uses, taken before the caller's code can replace them. */
function fsCalls(fs) {
  return {
    mkdirSync: fs.mkdirSync,
    writeFileSync: fs.writeFileSync,
    readdirSync: fs.readdirSync,
    readFileSync: fs.readFileSync,
  };
}

/** Files travel as [path, bytes] pairs, never as an object keyed by path (\`__proto__\` is a name). */
function mount(fs, files, directories) {
  fs.mkdirSync(workspace, { recursive: true });
  for (const path of directories) fs.mkdirSync(workspace + "/" + path, { recursive: true });
  for (const [path, bytes] of files) {
    const target = workspace + "/" + path;
    fs.mkdirSync(parentOf(target), { recursive: true });
    fs.writeFileSync(target, bytes);
  }
  process.chdir(workspace);
}

/** Every regular file and directory under the workspace; links and special files are not part of it. */
function collect(fs) {
  const files = [];
  const directories = [];
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
      if (entry.isDirectory()) {
        pending.push(relative);
        directories.push(relative.slice(1));
      } else if (entry.isFile()) files.push([relative.slice(1), new Uint8Array(fs.readFileSync(workspace + relative))]);
    }
  }
  return { files, directories };
}

export default class SandportRunner extends WorkerEntrypoint {
  async run(input) {
    const combined = new CapturedStream(input.maxOutputBytes, undefined);
    const stdout = new CapturedStream(input.maxOutputBytes, combined);
    const stderr = new CapturedStream(input.maxOutputBytes, combined);
    installConsole(stdout, stderr, input.process);
    // The first touch of \`process\` costs a few ms per isolate, so only code that names it pays.
    if (input.process) {
      process.exit = (code) => {
        throw new ExitRequest(Number(code ?? 0) || 0);
      };
      Object.assign(process.env, input.env);
    }
    const fs = input.files === undefined ? undefined : fsCalls(await import("node:fs"));
    if (fs !== undefined) mount(fs, input.files, input.directories ?? []);
    let exitCode = 0;
    let valueJson;
    try {
      const module = await import(${JSON.stringify(`./${userModuleName}`)});
      let value = module.default;
      value = typeof value === "function" ? await value() : await value;
      valueJson = toJson(value);
      if (valueJson !== undefined && byteLengthOf(valueJson) > input.maxOutputBytes) {
        valueJson = undefined;
        stdout.truncated = true;
      }
    } catch (error) {
      if (error instanceof ExitRequest) {
        exitCode = error.code;
      } else {
        exitCode = 1;
        stderr.write(describeError(error) + "\\n");
      }
    }
    const workspaceAfter = fs === undefined ? undefined : collect(fs);
    return {
      exitCode,
      stdout: stdout.text(),
      stderr: stderr.text(),
      output: combined.text(),
      truncated: stdout.truncated || stderr.truncated,
      valueJson,
      files: workspaceAfter?.files,
      directories: workspaceAfter?.directories,
    };
  }
}
`;
