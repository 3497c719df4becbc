"""A private PostgreSQL cluster a test may stop and start (a restart mid-load).

It uses the server binaries scripts/ci-postgres.sh installs (CI) on a Unix socket in a
temporary folder, never the shared OPSBOT_TEST_DATABASE_URL server. Without the binaries
the test skips, unless OPSBOT_REQUIRE_POSTGRES=1 (CI), where that is a failure.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from pathlib import Path

import pytest


def _bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


class Cluster:
    def __init__(self, folder: Path, port: int) -> None:
        self.bin = _bin()
        if self.bin is None:
            if os.environ.get("OPSBOT_REQUIRE_POSTGRES") == "1":
                pytest.fail("OPSBOT_REQUIRE_POSTGRES=1 but no PostgreSQL server binaries")
            pytest.skip("no PostgreSQL server binaries (scripts/ci-postgres.sh installs them)")
        self.dir, self.port = folder, port
        folder.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(folder, "postgres")
        self._run("initdb", "-D", str(folder / "data"), "-U", "postgres", "-A", "trust")
        self.start()
        self._run("createdb", "-h", str(folder), "-p", str(port), "-U", "postgres", "opsbot")

    @property
    def url(self) -> str:
        return f"postgresql://postgres@/opsbot?host={self.dir}&port={self.port}"

    def _run(self, tool: str, *args: str) -> None:
        assert self.bin is not None
        cmd = [str(self.bin / tool), *args]
        if os.geteuid() == 0:  # initdb and postgres refuse to run as root
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses= -c fsync=off"
        data, log = str(self.dir / "data"), str(self.dir / "server.log")
        self._run("pg_ctl", "-D", data, "-l", log, "-w", "-t", "60", "-o", options, "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.dir / "data"), "-m", "fast", "-w", "stop")

    def close(self) -> None:
        if (self.dir / "data" / "postmaster.pid").exists():
            self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
