"""A private pcscd with one vpcd reader entry, for one test session.

pcscd's socket path is compiled in (/run/pcscd/pcscd.comm), so an isolated instance runs
in a private mount namespace with a directory of ours bind-mounted over /run/pcscd, and
never touches the system's pcscd. Clients find it through PCSCLITE_CSOCK_NAME, which
libpcsclite reads once per process: it must be set before the first pyscard call, and a
restarted daemon must come back on the same path. Started with Popen and stopped with terminate() + wait()
so it removes its socket and leaves no zombie.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

SOCKET_ENV = "PCSCLITE_CSOCK_NAME"
START_TIMEOUT = 10.0  # seconds for pcscd to create its socket and load the vpcd driver
VPCD_DRIVER = "/usr/lib/pcsc/drivers/serial/libifdvpcd.so"
READER_PREFIX = "Virtual PCD"


class PcscdError(RuntimeError):
    """The test pcscd could not start; the message says what to install or allow."""


def free_port_pair() -> int:
    """A port p with p and p+1 free on localhost: vpcd listens on one port per slot."""
    for _ in range(50):
        with socket.socket() as first:
            first.bind(("127.0.0.1", 0))
            port = first.getsockname()[1]
            if port >= 65535:
                continue
            with socket.socket() as second:
                try:
                    second.bind(("127.0.0.1", port + 1))
                except OSError:
                    continue
                return port
    raise PcscdError("found no two consecutive free TCP ports for the vpcd reader")


class Pcscd:
    """pcscd in its own mount namespace, with readers "Virtual PCD 00 00" (port) and "00 01" (port+1)."""

    def __init__(self) -> None:
        for tool in ("pcscd", "unshare", "mount"):
            if shutil.which(tool, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin") is None:
                raise PcscdError(f"{tool} is not installed: run `make test-system` (as root) first")
        if not os.path.exists(VPCD_DRIVER):
            raise PcscdError(f"{VPCD_DRIVER} is missing: install vsmartcard-vpcd (`make test-system`)")
        self.port = free_port_pair()
        self.root = Path(tempfile.mkdtemp(prefix="pcscd-"))  # short: a socket path has 107 bytes at most
        (self.root / "run").mkdir()
        (self.root / "conf").mkdir()
        # vpcd listens on CHANNELID for slot 0 and CHANNELID+1 for slot 1; the packaged entry
        # (/etc/reader.conf.d/vpcd) writes the port into DEVICENAME as well, and so do we.
        (self.root / "conf" / "vpcd").write_text(
            f'FRIENDLYNAME "{READER_PREFIX}"\nDEVICENAME /dev/null:0x{self.port:04X}\n'
            f"LIBPATH {VPCD_DRIVER}\nCHANNELID 0x{self.port:04X}\n"
        )
        self.socket_path = self.root / "run" / "pcscd.comm"
        self.readers = (f"{READER_PREFIX} 00 00", f"{READER_PREFIX} 00 01")
        self.ports = (self.port, self.port + 1)
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def point_clients_here(self) -> None:
        """Set PCSCLITE_CSOCK_NAME; only effective before this process's first PC/SC call."""
        current = os.environ.get(SOCKET_ENV)
        if current not in (None, str(self.socket_path)):
            raise PcscdError(f"{SOCKET_ENV} already points at {current}: one test pcscd per process")
        os.environ[SOCKET_ENV] = str(self.socket_path)

    def start(self) -> None:
        # /run/pcscd exists only once a system pcscd has run (systemd-tmpfiles makes it): make
        # the empty mount point if needed, as the package would.
        script = (f"mkdir -p /run/pcscd && mount --bind '{self.root / 'run'}' /run/pcscd"
                  f" && exec pcscd --foreground -c '{self.root / 'conf'}'")
        command = ["unshare", "--mount", "--propagation", "private"]
        if os.geteuid() != 0:
            command.append("--map-root-user")  # mount needs root inside the namespace
        self.socket_path.unlink(missing_ok=True)  # left behind if a previous run was killed
        log = open(self.root / "pcscd.log", "ab")
        try:
            self.process = subprocess.Popen([*command, "sh", "-c", script], stdin=subprocess.DEVNULL,
                                            stdout=log, stderr=subprocess.STDOUT)
        finally:
            log.close()
        self._wait_for_socket()

    def _wait_for_socket(self) -> None:
        # pcscd has no readiness signal in the foreground. Its socket file appears at bind(),
        # a moment before listen(): ready is when a connection is accepted. It loads
        # reader.conf before it opens the socket, so the readers are there by then.
        deadline = time.monotonic() + START_TIMEOUT
        while not self._accepts():
            assert self.process is not None
            if self.process.poll() is not None:
                raise PcscdError(self._failure(f"pcscd exited with status {self.process.returncode}"))
            if time.monotonic() > deadline:
                self.stop()
                raise PcscdError(self._failure(f"pcscd did not accept connections within {START_TIMEOUT} s"))
            time.sleep(0.01)

    def _accepts(self) -> bool:
        with socket.socket(socket.AF_UNIX) as probe:
            try:
                probe.connect(str(self.socket_path))
            except OSError:  # not there yet, or bound but not listening (ECONNREFUSED)
                return False
            return True

    def _failure(self, what: str) -> str:
        output = (self.root / "pcscd.log").read_text(errors="replace").strip()[-2000:]
        hint = ""
        if "not permitted" in output or "Permission denied" in output:
            hint = ("\nThe tests run pcscd in a private mount namespace (unshare --mount) so they never "
                    "touch the system pcscd: run them as root, or where unprivileged user namespaces are "
                    "allowed (kernel.unprivileged_userns_clone=1), or in a container with CAP_SYS_ADMIN.")
        return f"{what}.\n--- pcscd output ---\n{output or '(none)'}{hint}"

    def stop(self) -> None:
        """Terminate and reap pcscd; it removes its socket on the way out."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)
