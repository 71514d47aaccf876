"""Run one Lambda `bootstrap` under the Runtime Interface Emulator (RIE) on loopback.

No container: the RIE (installed as .venv/bin/aws-lambda-rie by infra/lambda-tools.sh) runs the
bootstrap as a host process, which is how the Lambda functions are exercised end to end against
the local AWS stack without Docker. Standard library only.

As a library:

    from rie import Rie
    with Rie("target/lambda/workflow-api/bootstrap", env={"AWS_REGION": "us-east-1"}) as fn:
        result = fn.invoke({"hello": "world"})
        print(result.body, result.error, fn.init_ms())

As a command (run it with the venv's python):

    .venv/bin/python infra/rie.py BOOTSTRAP EVENT.json [EVENT2.json ...] [--env K=V ...]
        [--env-file .local/env] [--invokes N] [--timeout S] [--memory MB] [--log FILE]

prints each response body on its own line, then key=value lines: init_ms (the runtime's init,
from exec to its first /next call), duration_ms (first invoke, excluding init), durations_ms (all
invokes) and wall_ms (first round trip as the caller sees it, init included). It exits 1 when a
response is a function error (a body with `errorType`, a non-200 status, a timeout) and 2 when
the emulator itself cannot be run.

What the RIE prints (aws-lambda-rie from aws-sam-cli 1.170.0), and what is parsed here:

    22 Nov 2026 22:38:42,002 [INFO] (rapid) INIT REPORT(durationMs: 7.403000)
    22 Nov 2026 22:38:42,017 [INFO] (rapid) INVOKE RTDONE(status: success, produced bytes: 0, duration: 15.666000ms)
    REPORT RequestId: d8fc...\tInit Duration: 0.11 ms\tDuration: 23.18 ms\tBilled Duration: 24 ms\t...

`INIT REPORT` is the real init time. The `Init Duration` of the REPORT line is not (the RIE
times only the hand-over of the init request: 0.02 ms for a bootstrap that sleeps 300 ms), and
the REPORT `Duration` of the first invoke includes the init, so durations come from `INVOKE
RTDONE`, falling back to REPORT `Duration` when the runtime never finished (a timeout). The RIE
starts the runtime lazily, on the first invoke. A runtime that exits makes the invoke answer 502
(empty body, or a `Runtime.ExitError` errorType body), and the next invoke initialises the
runtime again (another `INIT START`, `phase: invoke`). A handler error still answers 200 with errorType/errorMessage; a timeout
answers 200 with the text `Task timed out after N.00 seconds`. Never pass `--help` to the RIE:
it takes it for the handler and hangs.
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_RIE = ROOT / ".venv" / "bin" / "aws-lambda-rie"
INVOKE_PATH = "/2015-03-31/functions/function/invocations"

_INIT_REPORT = re.compile(r"INIT REPORT\(durationMs: ([0-9.]+)\)")
_INIT_START = re.compile(r"INIT START\(type: [^,]+, phase: (\w+)\)")
_START = re.compile(r"START RequestId: ([0-9a-f-]+)")
_INVOKE_START = re.compile(r"INVOKE START\(requestId: ([0-9a-f-]+)\)")
_RTDONE = re.compile(r"INVOKE RTDONE\(status: (\w+).*?duration: ([0-9.]+)ms\)")
_REPORT = re.compile(r"REPORT RequestId: ([0-9a-f-]+)\t(?:Init Duration: [0-9.]+ ms\t)?Duration: ([0-9.]+) ms")
_FATAL = re.compile(r"\[PANIC\]|failed to listen|address already in use")

# Lambda's own variables for a function; the RIE fills in the rest (AWS_LAMBDA_RUNTIME_API, ...).
_BASE_ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "LANG": "C.UTF-8",
    "TZ": "UTC",
}

# Every emulator still running, so that an interpreter exit kills them whatever happened, and
# the temporary logs to delete then (kept until exit so that they can be read after stop()).
_live: "weakref.WeakSet[Rie]" = weakref.WeakSet()
_temp_logs: set[Path] = set()


@atexit.register
def _kill_all() -> None:
    for rie in list(_live):
        rie.stop()
    for path in _temp_logs:
        path.unlink(missing_ok=True)


class RieError(RuntimeError):
    """The emulator could not be started or stopped answering."""


@dataclass
class Invocation:
    status: int
    body: bytes
    wall_ms: float

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def error(self) -> str | None:
        """The function error this response stands for, or None when it succeeded."""
        if self.status != 200:
            return f"HTTP {self.status}: {self.text.strip() or '(empty body)'}"
        if self.text.startswith("Task timed out"):
            return self.text.strip()
        try:
            doc = json.loads(self.body)
        except ValueError:
            return None
        if isinstance(doc, dict) and "errorType" in doc:
            return f"{doc.get('errorType')}: {doc.get('errorMessage', '')}"
        # An API function's own answer: a 5xx is a failure, a 4xx an answer to the request.
        if isinstance(doc, dict) and isinstance(doc.get("statusCode"), int) and doc["statusCode"] >= 500:
            return f"HTTP API answer {doc['statusCode']}: {doc.get('body', '')}"
        return None


@dataclass
class RequestTimes:
    request_id: str
    duration_ms: float | None = None  # runtime time of the invoke (INVOKE RTDONE), init excluded
    report_ms: float | None = None  # REPORT Duration (first invoke: init included)
    status: str | None = None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


def _kill_session(sid: int) -> None:
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
            if int(fields[3]) == sid:  # state, ppid, pgrp, session
                os.kill(int(stat.parent.name), signal.SIGKILL)
        except (OSError, ValueError, IndexError):
            continue


class Rie:
    """One bootstrap behind one emulator. Use as a context manager; stop() is idempotent."""

    def __init__(
        self,
        bootstrap: str | os.PathLike[str],
        env: Mapping[str, str] | None = None,
        *,
        inherit_env: bool = False,
        timeout_s: int = 30,
        memory_mb: int = 256,
        function_name: str | None = None,
        rie: str | os.PathLike[str] | None = None,
        log_path: str | os.PathLike[str] | None = None,
        ready_timeout_s: float = 10.0,
    ) -> None:
        self.bootstrap = Path(bootstrap).resolve()
        if not os.access(self.bootstrap, os.X_OK):
            raise RieError(f"{self.bootstrap} is not an executable file")
        self.rie = Path(rie) if rie else DEFAULT_RIE
        if not os.access(self.rie, os.X_OK):
            raise RieError(f"{self.rie} is missing: run infra/lambda-tools.sh")
        # The function sees only what Lambda would give it plus `env`, unless told otherwise, so
        # that a test cannot pass thanks to the caller's shell (AWS_PROFILE, ~/.aws, ...).
        self.env = dict(os.environ) if inherit_env else dict(_BASE_ENV)
        self.env.update(
            {
                "AWS_LAMBDA_FUNCTION_TIMEOUT": str(timeout_s),
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory_mb),
                "AWS_LAMBDA_FUNCTION_NAME": function_name or self.bootstrap.parent.name or "function",
                "LAMBDA_TASK_ROOT": str(self.bootstrap.parent),
            }
        )
        self.env.update(env or {})
        self.timeout_s = timeout_s
        self.ready_timeout_s = ready_timeout_s
        self._own_log = log_path is None
        self.log_path = Path(log_path) if log_path else None
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_file: Any = None
        self.port = 0
        self.runtime_port = 0
        self.invokes = 0

    # -- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> "Rie":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        if self._proc is not None:
            return
        if self.log_path is None:
            fd, name = tempfile.mkstemp(prefix="rie-", suffix=".log")
            os.close(fd)
            self.log_path = Path(name)
            _temp_logs.add(self.log_path)
        # A free port can be taken between probing and binding: retry with new ones.
        for attempt in range(3):
            self.port, self.runtime_port = _free_port(), _free_port()
            if self.port == self.runtime_port:
                continue
            self._spawn()
            try:
                self._wait_ready()
                return
            except RieError:
                log = self.log()
                self._kill()
                if attempt < 2 and _FATAL.search(log):
                    continue
                raise
        raise RieError("could not find free loopback ports for the emulator")

    def _spawn(self) -> None:
        assert self.log_path is not None
        # The log is a file, not a pipe: a chatty function can then never block on a full pipe.
        self._log_file = open(self.log_path, "wb")
        cmd = [
            str(self.rie),
            "--runtime-interface-emulator-address",
            f"127.0.0.1:{self.port}",
            "--runtime-api-address",
            f"127.0.0.1:{self.runtime_port}",
            str(self.bootstrap),
        ]
        # Own session: stop() can then find and kill everything the RIE started, the runtime and
        # anything it forked included (the RIE gives the runtime a process group of its own).
        self._proc = subprocess.Popen(
            cmd,
            env=self.env,
            cwd=self.bootstrap.parent,
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        _live.add(self)

    def _wait_ready(self) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + self.ready_timeout_s
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise RieError(f"aws-lambda-rie exited with {self._proc.returncode}:\n{self.log_tail()}")
            if _FATAL.search(self.log()):
                raise RieError(f"aws-lambda-rie failed:\n{self.log_tail()}")
            if _listening(self.port) and _listening(self.runtime_port):
                return
            time.sleep(0.02)
        raise RieError(f"aws-lambda-rie not listening after {self.ready_timeout_s} s:\n{self.log_tail()}")

    def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            # SIGTERM lets the RIE kill its runtime; SIGKILL if it does not exit.
            for sig, wait_s in ((signal.SIGTERM, 2.0), (signal.SIGKILL, 5.0)):
                try:
                    os.killpg(proc.pid, sig)
                except ProcessLookupError:
                    pass
                try:
                    proc.wait(timeout=wait_s)
                    break
                except subprocess.TimeoutExpired:
                    continue
            # The RIE starts the runtime in a process group of its own, but inside our session:
            # whatever is left of the session (a runtime's children) goes too.
            _kill_session(proc.pid)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def stop(self) -> None:
        self._kill()
        _live.discard(self)

    def cleanup(self) -> None:
        """stop(), and delete the log now when it is a temporary file of ours."""
        self.stop()
        if self._own_log and self.log_path is not None:
            self.log_path.unlink(missing_ok=True)
            _temp_logs.discard(self.log_path)

    # -- invoking ------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{INVOKE_PATH}"

    def invoke(self, event: Any = None, *, raw: bytes | None = None) -> Invocation:
        """POST one event (any JSON value, or raw bytes) and return the response."""
        if self._proc is None:
            raise RieError("the emulator is not running")
        data = raw if raw is not None else json.dumps({} if event is None else event).encode()
        req = urllib.request.Request(self.url, data=data, method="POST")
        req.add_header("Content-Type", "application/json")
        started = time.monotonic()
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s + 30) as resp:
                status, body = resp.status, resp.read()
        except urllib.error.HTTPError as e:  # 502 when the runtime exited
            status, body = e.code, e.read()
        except (urllib.error.URLError, OSError) as e:
            raise RieError(f"invoke failed: {e}\n{self.log_tail()}") from e
        wall_ms = (time.monotonic() - started) * 1000
        self.invokes += 1
        if status == 200:
            # The REPORT line is written just after the response goes out: wait for it so that
            # the timings of this invoke are in the log when the caller asks.
            self._wait_for(self._last_reported)
        return Invocation(status, body, wall_ms)

    def _last_reported(self) -> bool:
        reqs = self.requests()
        return len(reqs) >= self.invokes and reqs[-1].report_ms is not None

    def _wait_for(self, cond: Any, timeout_s: float = 2.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not cond() and time.monotonic() < deadline:
            time.sleep(0.005)

    # -- the log -----------------------------------------------------------------------------

    def log(self) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text("utf-8", "replace")

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log().splitlines()[-lines:])

    def init_ms(self) -> float | None:
        """Duration of the first initialisation (exec to the runtime's first /next call)."""
        m = _INIT_REPORT.search(self.log())
        return float(m.group(1)) if m else None

    def init_count(self) -> int:
        """How many times the runtime was initialised (more than one: it exited or timed out)."""
        return len(_INIT_START.findall(self.log()))

    def requests(self) -> list[RequestTimes]:
        """Per-invoke timings, in invoke order."""
        by_id: dict[str, RequestTimes] = {}
        order: list[RequestTimes] = []
        current: RequestTimes | None = None
        for line in self.log().splitlines():
            if m := _REPORT.search(line):
                r = by_id.get(m.group(1))
                if r is not None:
                    r.report_ms = float(m.group(2))
            elif m := _INVOKE_START.search(line):
                current = by_id.get(m.group(1))
            elif m := _START.search(line):
                r = RequestTimes(m.group(1))
                by_id[r.request_id] = r
                order.append(r)
            elif (m := _RTDONE.search(line)) and current is not None:
                current.status, current.duration_ms = m.group(1), float(m.group(2))
        return order

    def durations_ms(self) -> list[float | None]:
        return [r.duration_ms if r.duration_ms is not None else r.report_ms for r in self.requests()]


# -- command line ------------------------------------------------------------------------------


def _read_env_file(path: str) -> dict[str, str]:
    """KEY=VALUE lines; `export ` prefixes, blank lines and # comments allowed (.local/env)."""
    env: dict[str, str] = {}
    for line in Path(path).read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        line = line.removeprefix("export ").strip()
        # One `export` line may set several variables: A=1 B=2.
        for word in line.split():
            key, sep, value = word.partition("=")
            if sep:
                env[key] = value.strip("'\"")
    return env


def _fmt(v: float | None) -> str:
    return "" if v is None else f"{v:.2f}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Invoke a Lambda bootstrap under aws-lambda-rie.")
    p.add_argument("bootstrap", help="the function's executable (a custom runtime's bootstrap)")
    p.add_argument("events", nargs="+", help="event JSON file(s), '-' for stdin")
    p.add_argument("--env", action="append", default=[], metavar="K=V", help="function environment")
    p.add_argument("--env-file", action="append", default=[], help="KEY=VALUE lines (e.g. .local/env)")
    p.add_argument("--inherit-env", action="store_true", help="pass this shell's environment too")
    p.add_argument("--invokes", type=int, default=1, help="invokes per event (default 1)")
    p.add_argument("--timeout", type=int, default=30, help="function timeout, s (default 30)")
    p.add_argument("--memory", type=int, default=256, help="reported memory size, MB (default 256)")
    p.add_argument("--function-name", help="AWS_LAMBDA_FUNCTION_NAME (default: the directory name)")
    p.add_argument("--log", help="keep the emulator's output (with the function's logs) here")
    p.add_argument("--show-log", action="store_true", help="copy the emulator's output to stderr")
    args = p.parse_args(argv)

    env: dict[str, str] = {}
    for f in args.env_file:
        env.update(_read_env_file(f))
    for kv in args.env:
        key, sep, value = kv.partition("=")
        if not sep:
            p.error(f"--env wants K=V, got {kv!r}")
        env[key] = value
    events = [sys.stdin.buffer.read() if e == "-" else Path(e).read_bytes() for e in args.events]

    # SIGTERM/SIGINT unwind through the finally below, so the emulator never outlives us.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    failed = False
    try:
        fn = Rie(
            args.bootstrap,
            env,
            inherit_env=args.inherit_env,
            timeout_s=args.timeout,
            memory_mb=args.memory,
            function_name=args.function_name,
            log_path=args.log,
        )
    except RieError as e:
        print(f"==> {e}", file=sys.stderr)
        return 2
    first_wall: float | None = None
    try:
        fn.start()
        for event in events:
            for _ in range(args.invokes):
                result = fn.invoke(raw=event)
                first_wall = result.wall_ms if first_wall is None else first_wall
                print(result.text, flush=True)
                if result.error:
                    failed = True
                    print(f"==> function error: {result.error}", file=sys.stderr)
        durations = fn.durations_ms()
        print(f"init_ms={_fmt(fn.init_ms())}")
        print(f"duration_ms={_fmt(durations[0] if durations else None)}")
        print(f"durations_ms={','.join(_fmt(d) for d in durations)}")
        known = [d for d in durations[1:] if d is not None]
        if known:
            print(f"warm_median_ms={_fmt(statistics.median(known))}")
        print(f"wall_ms={_fmt(first_wall)}")
        print(f"inits={fn.init_count()}")
    except RieError as e:
        print(f"==> {e}", file=sys.stderr)
        return 2
    finally:
        fn.stop()
        if args.show_log or failed:
            print(fn.log() if args.show_log else fn.log_tail(), file=sys.stderr)
        fn.cleanup()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
