"""PostgreSQL 15 for the local stack, run straight from the Debian binaries, and the per-service
database layout shared with external databases.

Without Docker, the local database is a private cluster (its own data folder, port and
sockets) next to whatever PostgreSQL the machine may already run, so it never touches the
system cluster. The ``postgres`` server is spawned directly (not through ``pg_ctl``) so that
the recorded PID is the postmaster itself.

Every service gets a role ``socsec_<service>`` owning a schema ``<service>`` and nothing else:
services cannot read each other's tables, which keeps them honest about talking over Kafka.
:func:`provision_database` sets that up on this cluster or on any PostgreSQL given an admin URL.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import pwd
import re
import secrets
import shutil
import signal
import stat
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import asyncpg

from socsec.stack import processes
from socsec.stack.processes import ProcessRecord, StackProcessError, run_as_kwargs

__all__ = [
    "ADMIN_USER",
    "PG_MAJOR",
    "STOP_SIGNAL",
    "PostgresCluster",
    "PostgresError",
    "PostgresNotInstalledError",
    "ensure_installed",
    "find_bindir",
    "provision_database",
    "service_role",
    "wait_postgres",
]

log = logging.getLogger(__name__)

PG_MAJOR = 15
ADMIN_USER = "socsec_admin"
#: SIGINT is PostgreSQL's "fast" shutdown: open sessions are ended (with a rollback) instead of
#: waited for, as SIGTERM ("smart") would, while data is still checkpointed cleanly.
STOP_SIGNAL = signal.SIGINT
# Linux limits a Unix socket path to 107 bytes.
_MAX_SOCKET_PATH = 107
_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


class PostgresError(StackProcessError):
    """The local PostgreSQL could not be set up, started or reached, or provisioning failed."""


class PostgresNotInstalledError(PostgresError):
    """No PostgreSQL server binaries were found (and they could not be installed)."""


def _has_server(bindir: Path) -> bool:
    return (bindir / "postgres").is_file() and (bindir / "initdb").is_file()


def find_bindir() -> Path:
    """The folder with ``initdb`` and ``postgres``.

    ``pg_config`` comes from libpq-dev, whose version can differ from the installed server
    (its folder then has no ``postgres``), hence the check and the fall-backs.
    """
    candidates: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            out = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, check=True, timeout=10
            ).stdout.strip()
            if out:
                candidates.append(Path(out))
    candidates.append(Path(f"/usr/lib/postgresql/{PG_MAJOR}/bin"))
    on_path = shutil.which("postgres")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    for candidate in candidates:
        if _has_server(candidate):
            return candidate
    raise PostgresNotInstalledError(
        f"PostgreSQL {PG_MAJOR} server binaries not found (looked in "
        f"{', '.join(str(c) for c in candidates)}); install them with "
        f"`sudo apt-get install -y postgresql-{PG_MAJOR}`"
    )


def ensure_installed() -> Path:
    """Return the server bindir, installing ``postgresql-15`` with apt first if root and needed.

    Note that on a machine with an init system, the Debian package also creates and starts a
    default cluster on port 5432; the stack does not use it.
    """
    try:
        return find_bindir()
    except PostgresNotInstalledError:
        if os.geteuid() != 0 or shutil.which("apt-get") is None:
            raise
    package = f"postgresql-{PG_MAJOR}"
    log.warning("PostgreSQL %s is not installed; installing %s with apt-get", PG_MAJOR, package)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for argv in (
        ["apt-get", "update"],
        ["apt-get", "install", "-y", "--no-install-recommends", package],
    ):
        result = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
        if result.returncode != 0:
            out = "\n".join((result.stdout + result.stderr).splitlines()[-40:])
            raise PostgresNotInstalledError(
                f"`{' '.join(argv)}` failed with exit code {result.returncode}:\n{out}"
            )
    return find_bindir()


def _ensure_traversable(path: Path, user: str) -> None:
    """Make ``path`` and every folder above it searchable by ``user``.

    When root runs the stack, the server runs as ``postgres`` but its folders usually sit
    under root's folders (``/root``, or a 0700 ``mkdtemp`` folder). Only the search bit (x) is
    added, and only where missing, so ``postgres`` can walk *through* those folders; it still
    cannot list or read them. Each change is logged.
    """
    entry = pwd.getpwnam(user)
    groups = set(os.getgrouplist(user, entry.pw_gid))
    for folder in [path, *path.parents]:
        st = folder.stat()
        if st.st_uid == entry.pw_uid:
            bit = stat.S_IXUSR
        elif st.st_gid in groups:
            bit = stat.S_IXGRP
        else:
            bit = stat.S_IXOTH
        if not st.st_mode & bit:
            os.chmod(folder, stat.S_IMODE(st.st_mode) | bit)
            log.warning("added search permission (x) on %s so that %s can reach it", folder, user)


def _chown(path: Path, user: str | None) -> None:
    if user is None:
        return
    entry = pwd.getpwnam(user)
    os.chown(path, entry.pw_uid, entry.pw_gid)


def _pg_url(user: str, password: str, hostport: str, database: str, query: str = "") -> str:
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{hostport}"
    return urlunsplit(("postgresql", netloc, "/" + quote(database, safe=""), query, ""))


class PostgresCluster:
    """A private PostgreSQL cluster in ``data_dir``, listening on 127.0.0.1:``port`` only.

    Next to ``data_dir`` (in its parent folder) it keeps the admin password file
    (``admin-password``, mode 0600) and the Unix socket folder (``run``), so that nothing
    depends on system folders such as /var/run/postgresql. As root, the server runs as the
    ``postgres`` OS user, since PostgreSQL refuses to run as root.
    """

    def __init__(
        self,
        data_dir: Path,
        port: int,
        log_path: Path,
        *,
        bindir: Path | None = None,
        os_user: str | None = None,
    ) -> None:
        self.data_dir = Path(data_dir).absolute()
        self.port = port
        self.log_path = Path(log_path).absolute()
        self._bindir = Path(bindir) if bindir is not None else None
        if os_user is None and os.geteuid() == 0:
            os_user = "postgres"
        #: The OS user running the server, ``None`` for the current user.
        self.os_user = os_user

    @property
    def base_dir(self) -> Path:
        return self.data_dir.parent

    @property
    def password_file(self) -> Path:
        return self.base_dir / "admin-password"

    @property
    def socket_dir(self) -> Path:
        return self.base_dir / "run"

    @property
    def bindir(self) -> Path:
        if self._bindir is None:
            self._bindir = ensure_installed()
        return self._bindir

    @property
    def is_initialised(self) -> bool:
        return (self.data_dir / "PG_VERSION").is_file()

    @property
    def admin_password(self) -> str:
        try:
            return self.password_file.read_text().strip()
        except FileNotFoundError:
            raise PostgresError(
                f"{self.password_file} is missing; was the cluster initialised (init())?"
            ) from None

    @property
    def admin_url(self) -> str:
        return _pg_url(ADMIN_USER, self.admin_password, f"127.0.0.1:{self.port}", "postgres")

    def _prepare_dirs(self) -> None:
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir.mkdir(mode=0o700, exist_ok=True)
        self.socket_dir.mkdir(mode=0o700, exist_ok=True)
        if self.os_user is not None:
            _chown(self.data_dir, self.os_user)
            _chown(self.socket_dir, self.os_user)
            _ensure_traversable(self.base_dir, self.os_user)

    def _admin_password_for_init(self) -> str:
        """The admin password, kept if a previous init got that far, else a new one."""
        if self.password_file.is_file():
            return self.admin_password
        password = secrets.token_urlsafe(24)
        fd = os.open(self.password_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(password + "\n")
        return password

    def init(self) -> bool:
        """Create the cluster (initdb) and its configuration; ``False`` if it already existed."""
        if self.is_initialised:
            self.write_config()
            return False
        self._prepare_dirs()
        if any(self.data_dir.iterdir()):
            raise PostgresError(
                f"{self.data_dir} is not empty but holds no PostgreSQL cluster; remove it"
            )
        password = self._admin_password_for_init()
        # initdb reads the password from a file as the server user: a short-lived copy owned
        # by that user, since the kept password file stays private to the current user.
        fd, pwfile = tempfile.mkstemp(prefix=".pwfile-", dir=self.base_dir)
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(password + "\n")
            _chown(Path(pwfile), self.os_user)
            argv = [
                str(self.bindir / "initdb"), "-D", str(self.data_dir), "-U", ADMIN_USER,
                f"--pwfile={pwfile}", "--auth=scram-sha-256", "--encoding=UTF8", "--locale=C",
            ]  # fmt: skip
            log.info("initialising PostgreSQL cluster in %s", self.data_dir)
            result = subprocess.run(
                argv,
                capture_output=True,
                text=True,
                cwd=self.base_dir,
                check=False,
                **run_as_kwargs(self.os_user, None),
            )
        finally:
            os.unlink(pwfile)
        if result.returncode != 0:
            out = "\n".join((result.stdout + result.stderr).splitlines()[-40:])
            raise PostgresError(f"initdb of {self.data_dir} failed:\n{out}")
        self._write_file(
            self.data_dir / "pg_hba.conf",
            "# Written by socsec.stack.postgres: passwords (SCRAM) only, loopback only.\n"
            "# TYPE  DATABASE  USER  ADDRESS       METHOD\n"
            "local   all       all                 scram-sha-256\n"
            "host    all       all   127.0.0.1/32  scram-sha-256\n",
        )
        with open(self.data_dir / "postgresql.conf", "a") as fh:
            fh.write("\n# socsec: settings of the local stack, rewritten on every start\n")
            fh.write("include_if_exists = 'socsec.conf'\n")
        self.write_config()
        return True

    def _write_file(self, path: Path, text: str) -> None:
        path.write_text(text)
        _chown(path, self.os_user)

    def write_config(self) -> None:
        """Write ``socsec.conf`` (included by postgresql.conf); rewritten at start for the port."""
        socket_path = self.socket_dir / f".s.PGSQL.{self.port}"
        sockets = str(self.socket_dir)
        if len(str(socket_path)) > _MAX_SOCKET_PATH:
            log.warning("%s is too long for a Unix socket; TCP only", socket_path)
            sockets = ""
        settings = {
            "listen_addresses": "127.0.0.1",
            "port": str(self.port),
            "unix_socket_directories": sockets,
            "max_connections": "200",
            "shared_buffers": "128MB",
            "fsync": "on",
            "synchronous_commit": "on",
        }
        lines = ["# Written by socsec.stack.postgres on every start; edits are overwritten."]
        for key, value in settings.items():
            lines.append(f"{key} = '{value}'")
        self._write_file(self.data_dir / "socsec.conf", "\n".join(lines) + "\n")

    def start(self) -> ProcessRecord:
        """Initialise on first use, then start the server in the background.

        Returns at once; call :meth:`wait_ready` before using it.
        """
        self.init()
        self._prepare_dirs()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        return processes.spawn(
            "postgres",
            [str(self.bindir / "postgres"), "-D", str(self.data_dir)],
            log_path=self.log_path,
            cwd=self.base_dir,
            user=self.os_user,
        )

    def wait_ready(self, record: ProcessRecord | None = None, timeout: float = 60) -> None:
        """Wait until the admin user can run a query; fail early if the server died."""

        def check_alive() -> None:
            if record is not None and not processes.is_alive(record):
                raise PostgresError(
                    f"PostgreSQL (pid {record.pid}) exited while starting; "
                    f"last lines of {self.log_path}:\n{processes.tail(self.log_path)}"
                )

        try:
            wait_postgres(self.admin_url, timeout, check=check_alive)
        except PostgresError as exc:
            if record is not None and not processes.is_alive(record):
                raise
            raise PostgresError(
                f"{exc}\nlast lines of {self.log_path}:\n{processes.tail(self.log_path)}"
            ) from exc

    def stop(self, record: ProcessRecord, timeout: float = 30) -> bool:
        return processes.stop(record, timeout=timeout, sig=STOP_SIGNAL)


async def _probe(url: str) -> None:
    conn = await asyncpg.connect(url, timeout=5)
    try:
        await conn.fetchval("SELECT 1")
    finally:
        await conn.close()


def wait_postgres(url: str, timeout: float = 60, check: Callable[[], None] | None = None) -> None:
    """Wait until a connection to ``url`` can run a query (the server may still be starting)."""
    deadline = time.monotonic() + timeout
    last: BaseException | None = None
    while True:
        if check is not None:
            check()
        try:
            asyncio.run(_probe(url))
            return
        except Exception as exc:  # refused, "starting up", ...: retried until the deadline
            last = exc
        if time.monotonic() >= deadline:
            raise PostgresError(
                f"PostgreSQL at {_redact(url)} did not answer within {timeout:.0f} s "
                f"(last error: {type(last).__name__}: {last})"
            )
        time.sleep(0.3)


def _redact(url: str) -> str:
    parts = urlsplit(url)
    hostport = parts.netloc.rsplit("@", 1)[-1]
    user = parts.username or ""
    return urlunsplit((parts.scheme, f"{user}:***@{hostport}", parts.path, parts.query, ""))


def service_role(service: str) -> str:
    """The database role of a service."""
    return f"socsec_{service}"


def _check_name(kind: str, name: str, max_len: int = 63) -> None:
    if not _NAME.match(name) or len(name) > max_len:
        raise PostgresError(
            f"invalid {kind} name {name!r}: use lower-case letters, digits and '_' "
            f"(at most {max_len} characters, not starting with a digit)"
        )


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def _provision(admin_url: str, database: str, roles: Mapping[str, str]) -> None:
    db = _ident(database)
    conn = await asyncpg.connect(admin_url, timeout=10)
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database):
            with contextlib.suppress(asyncpg.DuplicateDatabaseError):
                await conn.execute(f"CREATE DATABASE {db}")
                log.info("created database %s", database)
        superuser = await conn.fetchval(
            "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
        )
        for service, password in roles.items():
            role = service_role(service)
            exists = await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role)
            verb = "ALTER" if exists else "CREATE"
            # format() quotes the password server-side; it cannot be a bind parameter here.
            statement = await conn.fetchval(
                f"SELECT format('{verb} ROLE %I WITH LOGIN PASSWORD %L', $1::text, $2::text)",
                role,
                password,
            )
            try:
                await conn.execute(statement)
            except asyncpg.DuplicateObjectError:  # created concurrently
                await conn.execute(statement.replace("CREATE ROLE", "ALTER ROLE", 1))
            await conn.execute(f"ALTER ROLE {_ident(role)} SET search_path TO {_ident(service)}")
            if not superuser:
                # Managed servers (RDS, Azure, ...) give no superuser: the admin must be a
                # member of a role to create a schema owned by it.
                await conn.execute(f"GRANT {_ident(role)} TO CURRENT_USER")
        await conn.execute(f"REVOKE CONNECT, TEMPORARY ON DATABASE {db} FROM PUBLIC")
        for service in roles:
            await conn.execute(f"GRANT CONNECT ON DATABASE {db} TO {_ident(service_role(service))}")
    finally:
        await conn.close()

    conn = await asyncpg.connect(admin_url, database=database, timeout=10)
    try:
        await conn.execute("REVOKE ALL ON SCHEMA public FROM PUBLIC")
        for service in roles:
            role, schema = _ident(service_role(service)), _ident(service)
            await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema} AUTHORIZATION {role}")
            await conn.execute(f"ALTER SCHEMA {schema} OWNER TO {role}")
    finally:
        await conn.close()


def provision_database(admin_url: str, database: str, roles: Mapping[str, str]) -> dict[str, str]:
    """Set up ``database`` for the services in ``roles`` (service name -> password).

    Each service gets a login role ``socsec_<service>`` with that password (reset if the role
    exists), a schema ``<service>`` it owns and that is first on its search_path, and CONNECT
    on ``database``, which PUBLIC loses, as it loses every right on schema ``public``. Safe to
    run at every start. Returns service -> DSN, with the host, port and query (sslmode...)
    of ``admin_url``.
    """
    _check_name("database", database)
    for service in roles:
        _check_name("service", service, max_len=63 - len(service_role("")))
    try:
        asyncio.run(_provision(admin_url, database, roles))
    except PostgresError:
        raise
    except Exception as exc:
        raise PostgresError(
            f"provisioning database {database!r} on {_redact(admin_url)} failed: "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    parts = urlsplit(admin_url)
    hostport = parts.netloc.rsplit("@", 1)[-1]
    return {
        service: _pg_url(service_role(service), password, hostport, database, parts.query)
        for service, password in roles.items()
    }
