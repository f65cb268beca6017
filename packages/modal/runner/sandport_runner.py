"""sandport's runner for Modal Functions (the `modal-function` provider of @sandport/modal).

Deploy it once per Modal environment (Modal Python SDK >= 1.2, whose inputs and outputs the
JavaScript SDK can read as CBOR):

    modal deploy sandport_runner.py

Every `exec` / `runCode` of a `modal-function` sandbox is one call of `run`: the request carries
the sandbox's files, the command (or code and language), env, stdin and limits; the reply carries
stdout, stderr, the exit code and the files the command changed. Nothing is kept between calls:
the sandbox's files live with the caller and travel with each call.

The app name, function name, GPU-less defaults and image below are what the provider expects by
default (`appName: "sandport-runner"`, `functionName: "run"`); change both sides together. A
request for a GPU, CPU, memory or lifetime is applied per call with Modal's own function options,
so one deployment serves every size.

Without `modal` installed the module still imports (the request logic below is plain Python), and
`python3 sandport_runner.py --json-stdio` runs one request read as JSON from stdin: that is how
sandport's offline fake of Modal runs this very file.
"""

import base64
import hashlib
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time

PROTOCOL = 1
RUNNER_VERSION = "0.1.0"
APP_NAME = "sandport-runner"
FUNCTION_NAME = "run"
# Where the sandbox's files are laid out; the provider names paths under /workspace.
WORKSPACE = os.environ.get("SANDPORT_RUNNER_WORKSPACE", "/workspace")
# The most bytes of each stream kept when a request sets no cap (the call's reply must stay small).
DEFAULT_MAX_OUTPUT_BYTES = 16 * 1024 * 1024
READ_CHUNK = 64 * 1024


def _workspace_path(relative):
    """The absolute path of a workspace-relative path; refuses one that leaves the workspace."""
    if not isinstance(relative, str) or relative == "" or "\0" in relative:
        raise ValueError("bad path")
    parts = [part for part in relative.split("/") if part not in ("", ".")]
    if not parts or ".." in parts:
        raise ValueError("path %r leaves the workspace" % relative)
    return os.path.join(WORKSPACE, *parts)


def _clear_workspace():
    """Empties the workspace (the directory itself may be a mount point, so it stays)."""
    os.makedirs(WORKSPACE, exist_ok=True)
    for name in os.listdir(WORKSPACE):
        path = os.path.join(WORKSPACE, name)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass


def _digest(data):
    return hashlib.sha256(data).hexdigest()


def _populate(entries):
    """Writes the sandbox's entries; returns {path: (sha256, mode)} of the files written."""
    written = {}
    # Directories first, then files, then links (a link may point at anything, even nothing).
    order = {"directory": 0, "file": 1, "symlink": 2}
    for entry in sorted(entries, key=lambda item: (order.get(item.get("kind"), 3), item.get("path", ""))):
        kind = entry.get("kind")
        path = _workspace_path(entry.get("path"))
        if kind == "directory":
            os.makedirs(path, exist_ok=True)
        elif kind == "file":
            os.makedirs(os.path.dirname(path), exist_ok=True)
            data = bytes(entry.get("data") or b"")
            mode = int(entry.get("mode") or 0o644) & 0o7777
            with open(path, "wb") as handle:
                handle.write(data)
            os.chmod(path, mode)
            written[entry["path"]] = (_digest(data), mode)
        elif kind == "symlink":
            os.makedirs(os.path.dirname(path), exist_ok=True)
            os.symlink(str(entry.get("target") or ""), path)
    return written


def _collect(written):
    """Every entry of the workspace after the command; file contents only where they changed."""
    entries = []
    for directory, subdirectories, files in os.walk(WORKSPACE, followlinks=False):
        for name in sorted(subdirectories + files):
            path = os.path.join(directory, name)
            relative = os.path.relpath(path, WORKSPACE)
            try:
                info = os.lstat(path)
            except FileNotFoundError:
                continue
            if stat.S_ISLNK(info.st_mode):
                entries.append({"path": relative, "kind": "symlink", "target": os.readlink(path)})
            elif stat.S_ISDIR(info.st_mode):
                entries.append({"path": relative, "kind": "directory"})
            elif stat.S_ISREG(info.st_mode):
                mode = stat.S_IMODE(info.st_mode)
                try:
                    with open(path, "rb") as handle:
                        data = handle.read()
                except OSError:
                    continue
                before = written.get(relative)
                if before is not None and before == (_digest(data), mode):
                    entries.append({"path": relative, "kind": "file", "mode": mode, "changed": False})
                else:
                    entries.append({"path": relative, "kind": "file", "mode": mode, "changed": True, "data": data})
            # FIFOs, sockets and devices do not travel.
    return entries


def _argv(request):
    command = request.get("command")
    if command is not None:
        return [str(part) for part in command]
    code = str(request.get("code") or "")
    language = request.get("language")
    if language == "python":
        return [sys.executable or "python3", "-c", code]
    if language == "shell":
        return ["/bin/sh", "-c", code]
    if language == "javascript":
        return ["node", "--input-type=module", "--eval", code]
    if language == "typescript":
        return ["node", "--input-type=module-typescript", "--eval", code]
    raise ValueError("unknown language %r" % language)


class _Capped:
    """Reads a pipe to its end, keeping the first `limit` bytes."""

    def __init__(self, pipe, limit):
        self.kept = bytearray()
        self.truncated = False
        self._pipe = pipe
        self._limit = limit
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self):
        while True:
            chunk = self._pipe.read(READ_CHUNK)
            if not chunk:
                break
            room = self._limit - len(self.kept)
            if room > 0:
                self.kept += chunk[:room]
            if len(chunk) > max(room, 0):
                self.truncated = True
        self._pipe.close()

    def join(self, timeout=None):
        self._thread.join(timeout)


def _feed(pipe, data):
    try:
        if data:
            pipe.write(data)
    except (BrokenPipeError, OSError):
        pass
    finally:
        try:
            pipe.close()
        except OSError:
            pass


def run_request(request):
    """Runs one request (a dict, as decoded from the call's input) and returns the reply dict."""
    started = time.monotonic()
    reply = {"protocol": PROTOCOL, "runner": RUNNER_VERSION}
    if request.get("protocol") != PROTOCOL:
        reply.update(status="bad_request", message="protocol %r, this runner speaks %d" % (request.get("protocol"), PROTOCOL))
        return reply
    _clear_workspace()
    try:
        written = _populate(request.get("entries") or [])
        argv = _argv(request)
    except (ValueError, OSError) as error:
        reply.update(status="bad_request", message=str(error))
        return reply
    cwd = request.get("cwd") or WORKSPACE
    if not os.path.isdir(cwd):
        reply.update(status="cwd_missing", message="cwd %s is not a directory" % cwd)
        return reply
    environment = dict(os.environ)
    environment.update({str(key): str(value) for key, value in (request.get("env") or {}).items()})
    limit = request.get("max_output_bytes")
    limit = DEFAULT_MAX_OUTPUT_BYTES if limit is None else max(0, int(limit))
    timeout_ms = request.get("timeout_ms")
    stdin = request.get("stdin")
    timed_out = False
    try:
        process = subprocess.Popen(
            argv,
            cwd=cwd,
            env=environment,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            # Its own process group, so a timeout ends the command and everything it started.
            start_new_session=True,
        )
    except FileNotFoundError:
        reply.update(
            status="ran", exit_code=127, stdout=b"", stderr=("%s: not found\n" % argv[0]).encode(),
            truncated=False, timed_out=False,
        )
    except PermissionError:
        reply.update(
            status="ran", exit_code=126, stdout=b"", stderr=("%s: permission denied\n" % argv[0]).encode(),
            truncated=False, timed_out=False,
        )
    else:
        feeder = threading.Thread(target=_feed, args=(process.stdin, bytes(stdin or b"")), daemon=True)
        feeder.start()
        out = _Capped(process.stdout, limit)
        err = _Capped(process.stderr, limit)
        try:
            process.wait(timeout=None if timeout_ms is None else max(0.0, float(timeout_ms) / 1000.0))
        except subprocess.TimeoutExpired:
            timed_out = True
        # The command is done (or out of time): whatever it left running in its group goes too.
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        process.wait()
        out.join()
        err.join()
        code = process.returncode
        reply.update(
            status="ran",
            exit_code=128 - code if code < 0 else code,
            stdout=bytes(out.kept),
            stderr=bytes(err.kept),
            truncated=out.truncated or err.truncated,
            timed_out=timed_out,
        )
    reply["entries"] = _collect(written)
    reply["duration_ms"] = (time.monotonic() - started) * 1000.0
    return reply


def _to_json(value):
    if isinstance(value, (bytes, bytearray)):
        return {"$bytes": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, dict):
        return {key: _to_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_json(item) for item in value]
    return value


def _from_json(value):
    if isinstance(value, dict):
        if set(value) == {"$bytes"}:
            return base64.b64decode(value["$bytes"])
        return {key: _from_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_from_json(item) for item in value]
    return value


def _json_stdio():
    """One request as JSON on stdin (bytes as {"$bytes": base64}), the reply as JSON on stdout."""
    request = _from_json(json.loads(sys.stdin.buffer.read().decode("utf-8")))
    try:
        reply = run_request(request)
    except Exception as error:  # reported as the call's failure, as Modal reports a raised exception
        json.dump({"$exception": "%s: %s" % (type(error).__name__, error)}, sys.stdout)
        return
    json.dump(_to_json(reply), sys.stdout)


try:
    import modal
except ImportError:  # the offline fake runs this file without Modal's SDK
    modal = None

if modal is not None:
    app = modal.App(APP_NAME)

    # The function's name in the app is its Python name, FUNCTION_NAME.
    @app.function(
        image=modal.Image.debian_slim(python_version="3.12"),
        # The longest a call may run; a sandbox's ttlMs lowers it per call.
        timeout=24 * 60 * 60,
        # One input per container at a time (Modal's default): every call lays out its own
        # /workspace. Do not raise it without giving each call its own directory.
    )
    def run(request: dict) -> dict:
        return run_request(request)


if __name__ == "__main__" and sys.argv[1:] == ["--json-stdio"]:
    _json_stdio()
