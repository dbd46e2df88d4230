"""sd_notify against a real datagram socket standing in for systemd's NOTIFY_SOCKET."""

from __future__ import annotations

import os
import socket

import pytest

from appliance.sdnotify import Notifier


@pytest.fixture
def systemd(tmp_path):
    """A bound datagram socket, as systemd's notify socket; yields (address for the env, receiving socket)."""
    path = tmp_path / "notify"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(2)
    yield str(path), sock
    sock.close()


def received(sock) -> dict[str, str]:
    return dict(line.split("=", 1) for line in sock.recv(4096).decode().splitlines())


def test_ready_status_watchdog_stopping_reach_systemd(systemd):
    address, sock = systemd
    notifier = Notifier({"NOTIFY_SOCKET": address})
    assert notifier.ready("selling")
    assert received(sock) == {"READY": "1", "STATUS": "selling"}
    assert notifier.status("printer out of paper")
    assert received(sock) == {"STATUS": "printer out of paper"}
    assert notifier.watchdog()
    assert received(sock) == {"WATCHDOG": "1"}
    assert notifier.stopping("parking the sale")
    assert received(sock) == {"STOPPING": "1", "STATUS": "parking the sale"}


def test_abstract_namespace_sockets_work():
    name = f"appliance-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(2)
        assert Notifier({"NOTIFY_SOCKET": "@" + name}).ready()
        assert received(sock) == {"READY": "1"}


def test_outside_systemd_every_call_is_a_harmless_no_op(tmp_path):
    assert not Notifier({}).enabled and not Notifier({}).ready()
    gone = Notifier({"NOTIFY_SOCKET": str(tmp_path / "nobody-listens")})
    assert gone.enabled and not gone.watchdog()  # systemd went away: no exception in the loop


def test_watchdog_interval_is_half_the_period_and_only_for_our_pid():
    assert Notifier({"WATCHDOG_USEC": "10000000"}).watchdog_interval == 5.0
    assert Notifier({"WATCHDOG_USEC": "10000000", "WATCHDOG_PID": str(os.getpid())}).watchdog_interval == 5.0
    assert Notifier({"WATCHDOG_USEC": "10000000", "WATCHDOG_PID": "1"}).watchdog_interval is None
    assert Notifier({"WATCHDOG_USEC": "soon"}).watchdog_interval is None


def test_a_notify_socket_nobody_reads_never_blocks_the_caller(systemd):
    address, _ = systemd  # bound but never read: its queue fills after a few datagrams
    notifier = Notifier({"NOTIFY_SOCKET": address})
    sent = [notifier.watchdog() for _ in range(500)]  # a blocking send would hang here
    assert sent[0] and not all(sent)  # the first ones queue, then they are dropped, not waited on
