"""A tiny registry of the long-running processes of the local stack.

The stack (Kafka, PostgreSQL, the services) outlives the ``socsec`` command that started it, so
the command cannot keep ``Popen`` objects around. Instead every start returns a
:class:`ProcessRecord` that the caller stores as JSON; a later command uses it to check or stop
the process. A PID alone is not enough for that: PIDs are reused, and signalling a stale PID
could hit an unrelated process. A record therefore also holds the process creation time
reported by the kernel, and nothing is signalled unless PID *and* creation time still match.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pwd
import signal
import socket
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psutil

__all__ = [
    "ProcessRecord",
    "StackProcessError",
    "free_port",
    "is_alive",
    "run_as_kwargs",
    "spawn",
    "stop",
    "tail",
]

log = logging.getLogger(__name__)

# psutil derives create_time from the boot time and the start tick of the process, so it is
# stable for one process; the tolerance only absorbs float rounding through JSON.
_CREATE_TIME_TOLERANCE_S = 0.05


class StackProcessError(RuntimeError):
    """A stack process could not be started, did not become ready, or could not be stopped."""


@dataclass(frozen=True)
class ProcessRecord:
    """What is needed to find a process again later, and nothing that cannot go into JSON."""

    name: str
    pid: int
    create_time: float
    argv: list[str] = field(default_factory=list)
    log_path: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ProcessRecord:
        return cls(
            name=str(data["name"]),
            pid=int(data["pid"]),
            create_time=float(data["create_time"]),
            argv=[str(a) for a in data.get("argv", [])],
            log_path=str(data.get("log_path", "")),
        )


def _user_ids(user: str) -> tuple[int, int, list[int], pwd.struct_passwd]:
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        raise StackProcessError(f"OS user {user!r} does not exist") from None
    return entry.pw_uid, entry.pw_gid, os.getgrouplist(user, entry.pw_gid), entry


def run_as_kwargs(user: str | None, env: Mapping[str, str] | None) -> dict[str, Any]:
    """``subprocess`` keyword arguments that run a child as ``user`` (only when that differs).

    ``Popen(user=...)`` switches identity in the forked child right before ``exec``, unlike
    ``runuser``/``su``, which stay as a parent process: that way the PID we record is the PID of
    the real program, and signals reach it directly.
    """
    child_env = dict(os.environ if env is None else env)
    if user is None:
        return {"env": child_env}
    uid, gid, groups, entry = _user_ids(user)
    if uid == os.geteuid():
        return {"env": child_env}
    if os.geteuid() != 0:
        raise StackProcessError(f"running a process as {user!r} needs root")
    child_env.update(HOME=entry.pw_dir, USER=user, LOGNAME=user)
    return {"env": child_env, "user": uid, "group": gid, "extra_groups": groups}


def spawn(
    name: str,
    argv: Sequence[str],
    *,
    log_path: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    user: str | None = None,
) -> ProcessRecord:
    """Start ``argv`` detached from us and return its record.

    The child gets its own session, so a Ctrl-C in the terminal that ran ``socsec stack up``
    does not reach it, and it keeps running when that command exits. stdout and stderr are
    appended to ``log_path``, which is where every "why did it not start" answer is found.
    ``env`` replaces the environment (``None`` inherits ours); ``user`` runs the child as that
    OS user (root only).
    """
    argv = [str(a) for a in argv]
    log_path = Path(log_path)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    extra = run_as_kwargs(user, env)
    with open(log_path, "ab") as out:
        try:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=cwd,
                start_new_session=True,
                close_fds=True,
                **extra,
            )
        except OSError as exc:
            raise StackProcessError(f"could not start {name} ({argv[0]}): {exc}") from exc
    try:
        create_time = psutil.Process(proc.pid).create_time()
    except psutil.NoSuchProcess:
        proc.wait()
        raise StackProcessError(
            f"{name} exited immediately with code {proc.returncode}; "
            f"last lines of {log_path}:\n{tail(log_path)}"
        ) from None
    record = ProcessRecord(name, proc.pid, create_time, argv, str(log_path))
    log.info("started %s (pid %d), log %s", name, proc.pid, log_path)
    return record


def _process(record: ProcessRecord) -> psutil.Process | None:
    """The live process of ``record``, or ``None`` when it is gone or the PID was reused."""
    try:
        proc = psutil.Process(record.pid)
        if abs(proc.create_time() - record.create_time) > _CREATE_TIME_TOLERANCE_S:
            return None
        if proc.status() == psutil.STATUS_ZOMBIE:
            _reap(proc)
            return None
        return proc
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        return None


def _reap(proc: psutil.Process) -> None:
    """Collect the exit status of a child of ours, so it does not linger as a zombie."""
    with contextlib.suppress(psutil.Error, ChildProcessError, OSError):
        proc.wait(timeout=0)


def is_alive(record: ProcessRecord) -> bool:
    """Whether the process of ``record`` is still running (same PID *and* creation time)."""
    return _process(record) is not None


def stop(record: ProcessRecord, timeout: float = 20, sig: int = signal.SIGTERM) -> bool:
    """Ask the process of ``record`` to stop with ``sig``; SIGKILL it after ``timeout`` s.

    Returns ``True`` when a matching process was found and stopped, ``False`` when there was
    nothing to stop (already gone, or the PID now belongs to another process, which is left
    alone). The SIGKILL goes to the whole process group (the child leads its own session), so
    helper processes such as PostgreSQL backends do not survive a forced stop.
    """
    proc = _process(record)
    if proc is None:
        log.info("%s (pid %d) is not running", record.name, record.pid)
        return False
    log.info("stopping %s (pid %d) with %s", record.name, record.pid, signal.Signals(sig).name)
    try:
        proc.send_signal(sig)
        code = proc.wait(timeout=timeout)  # the exit code only when it is our child
        log.info("%s (pid %d) stopped (exit code %s)", record.name, record.pid, code)
        return True
    except psutil.NoSuchProcess:
        return True
    except psutil.TimeoutExpired:
        pass
    log.warning(
        "%s (pid %d) did not stop within %.0f s, killing it", record.name, record.pid, timeout
    )
    if _process(record) is not None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(record.pid, signal.SIGKILL)
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()
    try:
        proc.wait(timeout=10)
    except psutil.NoSuchProcess:
        pass
    except psutil.TimeoutExpired as exc:
        raise StackProcessError(
            f"{record.name} (pid {record.pid}) survived SIGKILL; check it with `ps -p {record.pid}`"
        ) from exc
    return True


def tail(path: Path | str, n: int = 40) -> str:
    """The last ``n`` lines of a log file, for error messages; never raises."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            # Logs can be large; 64 KiB per wanted 40 lines is plenty for real log lines.
            chunk = min(size, max(65536, n * 1024))
            fh.seek(size - chunk)
            data = fh.read(chunk)
    except FileNotFoundError:
        return f"({path} does not exist)"
    except OSError as exc:
        return f"(cannot read {path}: {exc})"
    lines = data.decode("utf-8", errors="replace").splitlines()
    if chunk < size and lines:
        lines = lines[1:]  # the first line is most likely cut
    return "\n".join(lines[-n:])


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now.

    The port is released before it is returned, so another process can take it in between;
    acceptable for a developer stack, where a collision shows up as a clear bind error.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
