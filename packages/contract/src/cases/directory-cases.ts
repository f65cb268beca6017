/** Cases about the file calls beyond read and write: list, stat, make directory, remove, rename. */
import { expect } from "vitest";
import { allOf, needsFilesystem, needsShell } from "../case-conditions.ts";
import { type CaseScope, scopedCase } from "../case-scope.ts";
import type { ContractCase } from "../contract-case.ts";
import { expectSandportError } from "../expect-sandport-error.ts";

const group = "directories";

/** The listing's paths relative to `base` (an absolute path the provider reported), sorted. */
function relativePaths(paths: readonly string[], base: string): string[] {
  return paths.map((path) => path.slice(base.length + 1)).sort();
}

/** Where relative path `name` lands: the absolute path the provider reports for it. */
async function absolutePath(
  scope: CaseScope,
  sandbox: { statFile(path: string): Promise<{ path: string }> },
  name: string,
) {
  return (await scope.within(sandbox.statFile(name), `statFile("${name}")`, 10_000)).path;
}

/** Directory cases, in run order. */
export const directoryCases: readonly ContractCase[] = [
  scopedCase({
    id: "files-list",
    group,
    title:
      "lists a directory's entries with name, absolute path, type, size and time, and recursively on request",
    timeoutMs: 20_000,
    skipReason: needsFilesystem,
    async run(scope) {
      const sandbox = await scope.createSandbox();
      await scope.within(sandbox.writeFile("tree/b.txt", "12345"), "writeFile tree/b.txt", 10_000);
      await scope.within(sandbox.writeFile("tree/sub/d.txt", "x"), "writeFile tree/sub/d.txt", 10_000);
      await scope.within(sandbox.makeDirectory("tree/empty"), "makeDirectory tree/empty", 10_000);
      const base = await absolutePath(scope, sandbox, "tree");
      expect(base.startsWith("/"), `statFile gave a relative path: ${base}`).toBe(true);
      const before = Date.now();
      const flat = await scope.within(sandbox.listFiles("tree"), 'listFiles("tree")', 10_000);
      expect(
        relativePaths(
          flat.map((entry) => entry.path),
          base,
        ),
      ).toEqual(["b.txt", "empty", "sub"]);
      const file = flat.find((entry) => entry.name === "b.txt");
      expect(file).toMatchObject({ type: "file", size: 5, path: `${base}/b.txt` });
      expect(file?.modifiedAt).toBeInstanceOf(Date);
      // Clocks of remote backends may differ a little; a day apart means a unit error.
      expect(Math.abs((file?.modifiedAt.getTime() ?? 0) - before)).toBeLessThan(86_400_000);
      expect(flat.find((entry) => entry.name === "sub")?.type).toBe("directory");
      const deep = await scope.within(
        sandbox.listFiles("tree", { recursive: true }),
        "recursive listFiles",
        10_000,
      );
      expect(
        relativePaths(
          deep.map((entry) => entry.path),
          base,
        ),
      ).toEqual(["b.txt", "empty", "sub", "sub/d.txt"]);
    },
  }),
  scopedCase({
    id: "files-stat",
    group,
    title: "statFile describes a file and a directory, and a missing path is not_found",
    timeoutMs: 15_000,
    skipReason: needsFilesystem,
    async run(scope) {
      const sandbox = await scope.createSandbox();
      await scope.within(sandbox.writeFile("stat/file.txt", "hello"), "writeFile", 10_000);
      const file = await scope.within(sandbox.statFile("stat/file.txt"), 'statFile("stat/file.txt")', 10_000);
      expect(file).toMatchObject({ name: "file.txt", type: "file", size: 5 });
      expect(file.path.endsWith("/stat/file.txt")).toBe(true);
      const directory = await scope.within(sandbox.statFile("stat"), 'statFile("stat")', 10_000);
      expect(directory).toMatchObject({ name: "stat", type: "directory" });
      await scope.within(
        expectSandportError(() => sandbox.statFile("stat/missing"), "not_found"),
        "statFile(missing)",
        10_000,
      );
    },
  }),
  scopedCase({
    id: "files-make-directory",
    group,
    title:
      "makeDirectory: an existing entry is invalid_request and a missing parent not_found, unless recursive",
    timeoutMs: 20_000,
    skipReason: needsFilesystem,
    async run(scope) {
      const sandbox = await scope.createSandbox();
      await scope.within(sandbox.makeDirectory("made"), 'makeDirectory("made")', 10_000);
      expect((await scope.within(sandbox.statFile("made"), "statFile", 10_000)).type).toBe("directory");
      await scope.within(
        expectSandportError(() => sandbox.makeDirectory("made"), "invalid_request"),
        "again",
        10_000,
      );
      await scope.within(
        expectSandportError(() => sandbox.makeDirectory("p/q/r"), "not_found"),
        "no parent",
        10_000,
      );
      await scope.within(sandbox.makeDirectory("p/q/r", { recursive: true }), "recursive", 10_000);
      await scope.within(sandbox.makeDirectory("p/q/r", { recursive: true }), "recursive, existing", 10_000);
      await scope.within(sandbox.writeFile("p/file", "x"), "writeFile p/file", 10_000);
      await scope.within(
        expectSandportError(() => sandbox.makeDirectory("p/file", { recursive: true }), "invalid_request"),
        "a file in the way",
        10_000,
      );
      // A directory made through the API holds files like any other.
      await scope.within(sandbox.writeFile("p/q/r/inside.txt", "in"), "writeFile inside", 10_000);
      const listed = await scope.within(sandbox.listFiles("p/q/r"), "listFiles p/q/r", 10_000);
      expect(listed.map((entry) => entry.name)).toEqual(["inside.txt"]);
    },
  }),
  scopedCase({
    id: "files-remove",
    group,
    title:
      "removeFile removes a file and an empty directory; a full one needs recursive; missing is not_found",
    timeoutMs: 20_000,
    skipReason: needsFilesystem,
    async run(scope) {
      const sandbox = await scope.createSandbox();
      await scope.within(sandbox.writeFile("rm/a.txt", "a"), "writeFile", 10_000);
      await scope.within(sandbox.writeFile("rm/full/b.txt", "b"), "writeFile", 10_000);
      await scope.within(sandbox.makeDirectory("rm/empty"), "makeDirectory", 10_000);
      await scope.within(sandbox.removeFile("rm/a.txt"), "remove a file", 10_000);
      await scope.within(sandbox.removeFile("rm/empty"), "remove an empty directory", 10_000);
      await scope.within(
        expectSandportError(() => sandbox.removeFile("rm/full"), "invalid_request"),
        "full",
        10_000,
      );
      await scope.within(sandbox.removeFile("rm/full", { recursive: true }), "remove recursively", 10_000);
      const left = await scope.within(sandbox.listFiles("rm"), "listFiles rm", 10_000);
      expect(left).toEqual([]);
      await scope.within(
        expectSandportError(() => sandbox.removeFile("rm/a.txt"), "not_found"),
        "missing",
        10_000,
      );
    },
  }),
  scopedCase({
    id: "files-remove-link-not-target",
    group,
    title: "removeFile of a symbolic link removes the link, never what it points to",
    timeoutMs: 20_000,
    skipReason: allOf(needsShell, needsFilesystem),
    async run(scope) {
      const sandbox = await scope.createSandbox();
      await scope.within(sandbox.writeFile("kept/target.txt", "kept"), "writeFile", 10_000);
      const made = await scope.within(sandbox.exec(["ln", "-s", "kept", "link"]), "ln -s", 10_000);
      expect(made.exitCode, made.stderr).toBe(0);
      expect((await scope.within(sandbox.statFile("link"), "statFile(link)", 10_000)).type).toBe("symlink");
      await scope.within(sandbox.removeFile("link", { recursive: true }), "removeFile(link)", 10_000);
      await scope.within(
        expectSandportError(() => sandbox.statFile("link"), "not_found"),
        "link gone",
        10_000,
      );
      const kept = await scope.within(sandbox.readFile("kept/target.txt"), "readFile target", 10_000);
      expect(new TextDecoder().decode(kept)).toBe("kept");
    },
  }),
  scopedCase({
    id: "files-rename",
    group,
    title:
      "renameFile moves files and directories, replaces a file at the target, and a missing source is not_found",
    timeoutMs: 20_000,
    skipReason: needsFilesystem,
    async run(scope) {
      const sandbox = await scope.createSandbox();
      await scope.within(sandbox.writeFile("mv/a.txt", "a"), "writeFile", 10_000);
      await scope.within(sandbox.writeFile("mv/b.txt", "b"), "writeFile", 10_000);
      await scope.within(sandbox.writeFile("mv/dir/c.txt", "c"), "writeFile", 10_000);
      await scope.within(sandbox.renameFile("mv/a.txt", "mv/b.txt"), "replace b.txt", 10_000);
      expect(
        new TextDecoder().decode(await scope.within(sandbox.readFile("mv/b.txt"), "read b", 10_000)),
      ).toBe("a");
      await scope.within(sandbox.renameFile("mv/dir", "mv/moved"), "move a directory", 10_000);
      expect(
        new TextDecoder().decode(await scope.within(sandbox.readFile("mv/moved/c.txt"), "read c", 10_000)),
      ).toBe("c");
      await scope.within(
        expectSandportError(() => sandbox.renameFile("mv/a.txt", "mv/z.txt"), "not_found"),
        "gone",
        10_000,
      );
    },
  }),
  scopedCase({
    id: "files-one-vocabulary",
    group,
    title:
      "reading a directory, listing a file and writing over a directory are invalid_request on every provider",
    timeoutMs: 15_000,
    skipReason: needsFilesystem,
    async run(scope) {
      const sandbox = await scope.createSandbox();
      await scope.within(sandbox.writeFile("vocabulary/file.txt", "x"), "writeFile", 10_000);
      await scope.within(
        expectSandportError(() => sandbox.readFile("vocabulary"), "invalid_request"),
        "read dir",
        10_000,
      );
      await scope.within(
        expectSandportError(() => sandbox.listFiles("vocabulary/file.txt"), "invalid_request"),
        "list a file",
        10_000,
      );
      await scope.within(
        expectSandportError(() => sandbox.listFiles("nowhere"), "not_found"),
        "list missing",
        10_000,
      );
      await scope.within(
        expectSandportError(() => sandbox.writeFile("vocabulary", "x"), "invalid_request"),
        "write over a directory",
        10_000,
      );
    },
  }),
  scopedCase({
    id: "files-list-cap-and-arguments",
    group,
    title:
      "listFiles past maxEntries is output_limit; bad paths and options are invalid_request naming the field",
    timeoutMs: 20_000,
    skipReason: needsFilesystem,
    async run(scope) {
      const sandbox = await scope.createSandbox();
      for (const name of ["1", "2", "3", "4", "5"]) {
        await scope.within(sandbox.writeFile(`cap/${name}.txt`, name), `writeFile ${name}`, 10_000);
      }
      await scope.within(
        expectSandportError(() => sandbox.listFiles("cap", { maxEntries: 3 }), "output_limit"),
        "cap",
        10_000,
      );
      expect(
        await scope.within(sandbox.listFiles("cap", { maxEntries: 5 }), "exactly the cap", 10_000),
      ).toHaveLength(5);
      const cases: Array<[string, () => Promise<unknown>, string]> = [
        ["listFiles('')", () => sandbox.listFiles(""), "path"],
        ["maxEntries 0", () => sandbox.listFiles("cap", { maxEntries: 0 }), "maxEntries"],
        [
          "recursive 'yes'",
          () => sandbox.listFiles("cap", { recursive: "yes" as unknown as boolean }),
          "recursive",
        ],
        ["statFile(42)", () => sandbox.statFile(42 as unknown as string), "path"],
        ["renameFile to ''", () => sandbox.renameFile("cap/1.txt", ""), "to"],
      ];
      for (const [what, call, field] of cases) {
        const error = await scope.within(expectSandportError(call, "invalid_request"), what, 10_000);
        expect(error.message, `${what}: the message should name ${field}`).toContain(field);
      }
    },
  }),
];
