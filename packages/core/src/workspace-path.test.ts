import { describe, expect, it } from "vitest";
import { InvalidRequestError } from "./errors.ts";
import { workspaceRelativePath } from "./workspace-path.ts";

describe("workspaceRelativePath", () => {
  it.each([
    ["a.txt", "a.txt"],
    ["./a/b/../c.txt", "a/c.txt"],
    ["/workspace/a//b.txt", "a/b.txt"],
    ["inside/../inside.txt", "inside.txt"],
  ])("maps %j to %j", (path, expected) => {
    expect(workspaceRelativePath(path)).toBe(expected);
  });

  it.each([
    "../outside",
    "inside/../../outside",
    "/etc/passwd",
    "/workspacex/a",
    "/workspace",
    ".",
    "",
    "a\0b",
  ])("refuses %j with invalid_request", (path) => {
    expect(() => workspaceRelativePath(path)).toThrow(InvalidRequestError);
  });

  it("refuses a non-string path", () => {
    expect(() => workspaceRelativePath(42 as unknown as string)).toThrow(InvalidRequestError);
  });
});
