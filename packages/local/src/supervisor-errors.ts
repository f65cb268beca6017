/** Turns a request the supervisor refused into the spec's error codes, naming the caller's path. */

import { constants } from "node:os";
import {
  InvalidRequestError,
  NotFoundError,
  OutputLimitError,
  QuotaExceededError,
  SandboxFailedError,
  type SandportError,
} from "@sandport/core";
import { SupervisorRequestError } from "./supervisor-connection.ts";
import { RequestErrorKind } from "./supervisor-protocol.ts";

const { errno } = constants;

/** The error for a failed file call on `path` (the caller's own text, never a host path). */
export function fileError(error: unknown, path: string, providerId: string): unknown {
  if (!(error instanceof SupervisorRequestError)) return error;
  const options = { cause: error, providerId };
  const quoted = JSON.stringify(path);
  switch (error.kind) {
    case RequestErrorKind.notFound:
      return new NotFoundError(`${quoted} does not exist in the sandbox`, options);
    case RequestErrorKind.notRegular:
      return new InvalidRequestError(
        `${quoted} is not a regular file (a directory, FIFO, socket or device)`,
        options,
      );
    case RequestErrorKind.link:
      return new InvalidRequestError(
        `${quoted} goes through a link (symbolic links and hard links are refused)`,
        options,
      );
    case RequestErrorKind.tooLarge:
      return new OutputLimitError(`${quoted} is larger than the cap (read size, or entries listed)`, options);
    case RequestErrorKind.badRequest:
      return new InvalidRequestError(`${quoted} is not a valid path`, options);
    case RequestErrorKind.exists:
      return new InvalidRequestError(`${quoted} already exists in the sandbox`, options);
    case RequestErrorKind.notEmpty:
      return new InvalidRequestError(
        `${quoted} is a directory that is not empty (remove it with recursive)`,
        options,
      );
    case RequestErrorKind.notDirectory:
      return new InvalidRequestError(`${quoted} is not a directory`, options);
  }
  return systemError(error, quoted, options);
}

function systemError(
  error: SupervisorRequestError,
  subject: string,
  options: { cause: unknown; providerId: string },
): SandportError {
  switch (error.errno) {
    case errno.EROFS:
    case errno.EACCES:
    case errno.EPERM:
      return new InvalidRequestError(`${subject} is not writable in the sandbox`, options);
    case errno.ENOSPC:
    case errno.EDQUOT:
    case errno.EFBIG:
      return new QuotaExceededError(`${subject}: the sandbox's disk or file size limit was reached`, options);
    case errno.ENAMETOOLONG:
      return new InvalidRequestError(`${subject} is too long`, options);
    case errno.ENOTDIR:
      return new InvalidRequestError(`${subject}: a parent is not a directory`, options);
  }
  return new SandboxFailedError(
    `${subject}: the sandbox could not complete the call (errno ${error.errno})`,
    options,
  );
}

/** Whether an exec failure means the working directory is missing. */
export function isBadDirectory(error: unknown): boolean {
  return error instanceof SupervisorRequestError && error.kind === RequestErrorKind.badDirectory;
}

/** The errno of a failed execve, or undefined when the failure was something else. */
export function execveErrno(error: unknown): number | undefined {
  return error instanceof SupervisorRequestError && error.kind === RequestErrorKind.execFailed
    ? error.errno
    : undefined;
}
