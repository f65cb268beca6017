/**
 * Sandbox file paths, shared by every backend: relative to the workspace or absolute under
 * `/workspace`, never outside it. Pure string work, so it runs in any runtime.
 */
import { InvalidRequestError } from "./errors.ts";

/** Where the workspace sits in a sandbox's file paths. */
export const workspaceMountPath = "/workspace";

/** Resolves `.` and `..` segments of an absolute POSIX path (a `..` at the root stays at the root). */
export function normalizeAbsolutePath(path: string): string {
  const segments: string[] = [];
  for (const segment of path.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") segments.pop();
    else segments.push(segment);
  }
  return `/${segments.join("/")}`;
}

/**
 * Turns a sandbox path into a path relative to the workspace (`"a/b.txt"`), refusing with
 * `InvalidRequestError` anything that leaves the workspace or names the workspace itself.
 */
export function workspaceRelativePath(path: string): string {
  if (typeof path !== "string" || path === "" || path.includes("\0")) {
    throw new InvalidRequestError("path: must be a non-empty string without NUL");
  }
  const absolute = normalizeAbsolutePath(path.startsWith("/") ? path : `${workspaceMountPath}/${path}`);
  if (absolute !== workspaceMountPath && !absolute.startsWith(`${workspaceMountPath}/`)) {
    throw new InvalidRequestError(`path "${path}" is outside the sandbox workspace (${workspaceMountPath})`);
  }
  const relative = absolute.slice(workspaceMountPath.length + 1);
  if (relative === "") throw new InvalidRequestError(`path "${path}" names the workspace itself, not a file`);
  return relative;
}
