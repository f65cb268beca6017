/** The isolate workspace's entries: what each file call changes and how it fails, as pure data. */
import { describe, expect, it } from "vitest";
import { type StoredEntry, WorkspaceIndex } from "./workspace-entries.ts";

const file = (size: number, modifiedAt = 1_000): StoredEntry => ({ type: "file", size, modifiedAt });
const directory = (modifiedAt = 1_000): StoredEntry => ({ type: "directory", size: 0, modifiedAt });

/** `a/one.txt`, `a/b/two.txt` (a/b only implied), `empty` recorded, `top.txt`. */
function sample(): WorkspaceIndex {
  return new WorkspaceIndex(
    [
      ["a", directory(5)],
      ["a/one.txt", file(3, 10)],
      ["a/b/two.txt", file(4, 20)],
      ["empty", directory(7)],
      ["top.txt", file(1, 30)],
    ],
    1,
  );
}

describe("WorkspaceIndex", () => {
  it("knows recorded directories and those implied by what they hold, with the latest time inside", () => {
    const index = sample();
    expect(index.stat("a/b")).toEqual({ path: "a/b", type: "directory", size: 0, modifiedAt: 20 });
    expect(index.isRecorded("a/b")).toBe(false);
    expect(index.stat("a")).toMatchObject({ type: "directory", modifiedAt: 5 });
    expect(index.stat("")).toMatchObject({ path: "", type: "directory" });
    expect(index.stat("missing")).toMatchObject({ ok: false, code: "not_found" });
  });

  it("lists sorted by path, flat or recursive, and one entry past maxEntries at most", () => {
    const index = sample();
    const flat = index.list("", false, 100);
    expect(flat.ok && flat.entries.map((entry) => entry.path)).toEqual(["a", "empty", "top.txt"]);
    const deep = index.list("a", true, 100);
    expect(deep.ok && deep.entries.map((entry) => entry.path)).toEqual(["a/b", "a/b/two.txt", "a/one.txt"]);
    const capped = index.list("", true, 2);
    expect(capped.ok && capped.entries).toHaveLength(3);
    expect(index.list("top.txt", false, 10)).toMatchObject({ ok: false, code: "invalid_request" });
    expect(index.list("nowhere", false, 10)).toMatchObject({ ok: false, code: "not_found" });
  });

  it("refuses to read a directory and tells a missing file", () => {
    const index = sample();
    expect(index.checkReadable("a")).toMatchObject({ ok: false, code: "invalid_request" });
    expect(index.checkReadable("nope")).toMatchObject({ ok: false, code: "not_found" });
    expect(index.checkReadable("top.txt")).toEqual({ ok: true });
  });

  it("writes record the parents they create; a directory or a file in the way is refused", () => {
    const index = sample();
    expect(index.planWrite("x/y/z.txt")).toMatchObject({ ok: true, addDirectories: ["x", "x/y"] });
    expect(index.planWrite("a/b/new.txt")).toMatchObject({ ok: true, addDirectories: ["a/b"] });
    expect(index.planWrite("empty")).toMatchObject({ ok: false, code: "invalid_request" });
    expect(index.planWrite("top.txt/inner")).toMatchObject({ ok: false, code: "invalid_request" });
  });

  it("makes directories: not_found without a parent, invalid_request for what exists, unless recursive", () => {
    const index = sample();
    expect(index.planMakeDirectory("new", false)).toMatchObject({ ok: true, addDirectories: ["new"] });
    expect(index.planMakeDirectory("p/q", false)).toMatchObject({ ok: false, code: "not_found" });
    expect(index.planMakeDirectory("p/q", true)).toMatchObject({ ok: true, addDirectories: ["p", "p/q"] });
    expect(index.planMakeDirectory("empty", false)).toMatchObject({ ok: false, code: "invalid_request" });
    expect(index.planMakeDirectory("empty", true)).toMatchObject({ ok: true, addDirectories: [] });
    // An implied directory becomes a recorded one, so it outlives what it holds.
    expect(index.planMakeDirectory("a/b", true)).toMatchObject({ ok: true, addDirectories: ["a/b"] });
    expect(index.planMakeDirectory("top.txt", true)).toMatchObject({ ok: false, code: "invalid_request" });
    expect(index.planMakeDirectory("top.txt/sub", true)).toMatchObject({
      ok: false,
      code: "invalid_request",
    });
    expect(index.planMakeDirectory("top.txt/sub", false)).toMatchObject({
      ok: false,
      code: "invalid_request",
    });
    expect(index.planMakeDirectory("", true)).toMatchObject({ ok: true });
    expect(index.planMakeDirectory("", false)).toMatchObject({ ok: false, code: "invalid_request" });
  });

  it("removes a file, an empty directory, and a full one only recursively, keeping its parents", () => {
    const index = sample();
    expect(index.planRemove("a/b/two.txt", false)).toMatchObject({
      ok: true,
      deleteFiles: ["a/b/two.txt"],
      addDirectories: ["a/b"],
    });
    expect(index.planRemove("empty", false)).toMatchObject({ ok: true, deleteDirectories: ["empty"] });
    expect(index.planRemove("a", false)).toMatchObject({ ok: false, code: "invalid_request" });
    const all = index.planRemove("a", true);
    expect(all.ok && [...all.deleteFiles].sort()).toEqual(["a/b/two.txt", "a/one.txt"]);
    expect(all.ok && all.deleteDirectories).toEqual(["a"]);
    expect(index.planRemove("gone", true)).toMatchObject({ ok: false, code: "not_found" });
    expect(index.planRemove("", true)).toMatchObject({ ok: false, code: "invalid_request" });
  });

  it("renames files over files and directories with what they hold; refuses the other cases", () => {
    const index = sample();
    expect(index.planRename("top.txt", "a/one.txt")).toMatchObject({
      ok: true,
      deleteFiles: ["a/one.txt"],
      moves: [{ from: "top.txt", to: "a/one.txt", type: "file" }],
    });
    const moved = index.planRename("a", "z");
    expect(moved.ok && moved.moves.map((move) => `${move.from}>${move.to}`).sort()).toEqual([
      "a/b/two.txt>z/b/two.txt",
      "a/one.txt>z/one.txt",
      "a>z",
    ]);
    // An implied directory is recorded under its new name.
    expect(index.planRename("a/b", "moved")).toMatchObject({ ok: true, addDirectories: ["moved"] });
    expect(index.planRename("missing", "x")).toMatchObject({ ok: false, code: "not_found" });
    expect(index.planRename("top.txt", "no/parent.txt")).toMatchObject({ ok: false, code: "not_found" });
    expect(index.planRename("top.txt", "a/one.txt/x")).toMatchObject({ ok: false, code: "invalid_request" });
    expect(index.planRename("top.txt", "empty")).toMatchObject({ ok: false, code: "invalid_request" });
    expect(index.planRename("a", "top.txt")).toMatchObject({ ok: false, code: "invalid_request" });
    expect(index.planRename("a", "a/b/c")).toMatchObject({ ok: false, code: "invalid_request" });
    expect(index.planRename("top.txt", "top.txt")).toMatchObject({ ok: true, moves: [] });
  });
});
