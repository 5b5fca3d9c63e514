"""Java programs of the local stack, resolved from Maven Central by ``mvn`` into a cache folder.

Kafka (deploy/kafka/pom.xml) and the Zipkin server (deploy/zipkin/pom.xml) are not installed
system-wide: each has a small pom whose dependencies ``mvn dependency:copy-dependencies``
copies into ``~/.cache/socsec/<name>-<version>/``, once per user and version.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path

from socsec.stack.processes import StackProcessError

__all__ = ["cache_root", "copy_dependencies", "deploy_dir"]

log = logging.getLogger(__name__)

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def deploy_dir() -> Path:
    """The ``deploy`` folder of the source checkout this package runs from.

    ``socsec`` is installed in editable mode from the repository (libs/socsec is the package),
    so the repository root is three levels above this file's folder.
    """
    return Path(__file__).resolve().parents[3] / "deploy"


def cache_root() -> Path:
    """``$XDG_CACHE_HOME/socsec`` (``~/.cache/socsec``): shared by every checkout and stack."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "socsec"


def copy_dependencies(
    pom: Path,
    target: Path,
    marker: str,
    *,
    properties: Mapping[str, str] | None = None,
    what: str,
    error: type[StackProcessError] = StackProcessError,
) -> Path:
    """Return ``target`` holding the dependencies of ``pom``, copying them the first time.

    ``marker`` is the name of a file that only a complete copy has. mvn copies into a
    temporary sibling folder that is renamed into place only when mvn succeeded, so an
    interrupted download is never mistaken for a complete one. ``error`` is the exception
    raised on failure, with mvn's last lines in the message.
    """
    target = Path(target)
    if (target / marker).is_file():
        return target
    if target.exists() and any(target.iterdir()):
        raise error(
            f"{target} exists but has no {marker}; "
            "it is not a folder made by socsec, remove it or choose another cache folder"
        )
    pom = Path(pom)
    if not pom.is_file():
        raise error(
            f"{pom} not found: socsec must run from a source checkout (pip install -e .) "
            f"or be given the path of the pom that resolves {what}"
        )
    mvn = shutil.which("mvn")
    if mvn is None:
        raise error(f"Maven (mvn) is needed to fetch {what}: apt-get install -y maven")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    argv = [
        mvn, "-B", "-q", "-Dstyle.color=never", "-f", str(pom),
        "dependency:copy-dependencies", f"-DoutputDirectory={tmp}",
        *(f"-D{key}={value}" for key, value in (properties or {}).items()),
    ]  # fmt: skip
    log.info("fetching %s with Maven into %s", what, target)
    try:
        result = subprocess.run(argv, capture_output=True, text=True, check=False)
        if result.returncode != 0 or not (tmp / marker).is_file():
            # mvn 3.8 prints colour resets even in batch mode; they only clutter the message.
            output = _ANSI.sub("", result.stdout + result.stderr)
            out = "\n".join(line for line in output.splitlines()[-40:] if line.strip())
            raise error(
                f"Maven could not fetch {what} (exit code {result.returncode}, "
                f"command: {' '.join(argv)}):\n{out}"
            )
        try:
            if target.exists():
                target.rmdir()  # empty, checked above
            tmp.rename(target)
        except OSError:
            # Another `socsec` fetched the same files at the same time and won the rename.
            if not (target / marker).is_file():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return target
