"""A TCP proxy between the terminal and the real head office that breaks chosen requests in chosen ways.

The sync client must survive what a shop's network and a busy head office do to a request:
an answer lost after head office stored the batch, a connection cut mid-upload, a 5xx, an
answer that comes after the client gave up, bytes that are not the contract. The proxy
does those things to real requests between the real client and the real hq, so the tests
check the whole path (urllib, the signature, hq's idempotency) rather than a model of it.

urllib sends one request per connection (`Connection: close`), so each connection is one
request: the proxy reads it whole (head and Content-Length body), then acts on the next
fault in its queue, `pass` once the queue is empty.
"""

from __future__ import annotations

import contextlib
import http.client
import io
import json
import socket
import threading
from collections import deque
from http import HTTPStatus

FAULTS = ("pass", "lose_answer", "drop_mid_request", "status_500", "status_503", "slow", "garbage", "hold")
GARBAGE = b"<html><body>Please sign in to the shop Wi-Fi</body></html>"  # what a captive portal answers
WAIT_CAP_S = 60.0  # no test waits this long: a bound so a stuck test fails instead of hanging


def _read_head(sock: socket.socket) -> tuple[bytes, bytes]:
    """The message head up to the blank line, and the bytes of the body read with it; (b"", b"") if closed first."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return b"", b""
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head + b"\r\n\r\n", rest


def _content_length(head: bytes) -> int | None:
    _, _, fields = head.partition(b"\r\n")
    value = http.client.parse_headers(io.BytesIO(fields)).get("Content-Length")
    return None if value is None else int(value)


def _read_message(sock: socket.socket) -> bytes:
    """One whole HTTP message. Without a Content-Length a request (a GET of a feed) has no
    body, and an answer is everything until the peer closes."""
    head, body = _read_head(sock)
    if not head:
        return b""
    length = _content_length(head)
    if length is None and not head.startswith(b"HTTP/"):
        length = 0
    while length is None or len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + body


def _answer(status: int, document: bytes, content_type: str) -> bytes:
    phrase = HTTPStatus(status).phrase
    return (f"HTTP/1.1 {status} {phrase}\r\nContent-Type: {content_type}\r\nContent-Length: {len(document)}\r\n"
            "Connection: close\r\n\r\n").encode("ascii") + document  # fmt: skip


def _error_answer(status: int) -> bytes:
    """The contract's error body, as a head office behind a load balancer would send for a 5xx."""
    phrase = HTTPStatus(status).phrase
    document = {"error": phrase.lower().replace(" ", "_"), "message": f"{phrase.lower()}: try again later"}
    return _answer(status, json.dumps(document).encode("utf-8"), "application/json")


class FaultProxy:
    """Listens on 127.0.0.1:<free port> and forwards to 127.0.0.1:`upstream_port`.

    `upstream_port` may be changed while running (a restarted head office on a new port);
    a port nobody listens on makes head office unreachable through the proxy. Events let a
    test act at the right moment: `forwarded` once a request went to head office whole,
    `holding` once a `hold` request's answer is here (set `release` to relay it).
    """

    def __init__(self, upstream_port: int):
        self.upstream_port = upstream_port
        self.requests = 0  # requests seen, whatever their fault
        self.forwarded = threading.Event()
        self.holding = threading.Event()
        self.release = threading.Event()
        self._faults: deque[str] = deque()
        self._lock = threading.Condition()
        self._open: set[socket.socket] = set()
        self._workers: list[threading.Thread] = []
        self._stopping = False
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._acceptor = threading.Thread(target=self._accept, name="fault-proxy", daemon=True)
        self._acceptor.start()

    def expect(self, *faults: str) -> None:
        """Queue what to do to the next requests, in order; requests beyond the queue pass."""
        unknown = [fault for fault in faults if fault not in FAULTS]
        if unknown:
            raise ValueError(f"unknown faults {unknown}: choose from {', '.join(FAULTS)}")
        with self._lock:
            self._faults.extend(faults)

    def settle(self, timeout: float = WAIT_CAP_S) -> None:
        """Wait until every request taken is done with, so a late forward (`slow`) has reached head office."""
        with self._lock:
            if not self._lock.wait_for(lambda: not self._open, timeout):
                raise TimeoutError(f"the fault proxy still has {len(self._open)} requests in hand")

    def close(self) -> None:
        """Stop accepting, let held requests go and cut the ones still open, so no thread outlives its test."""
        self._stopping = True
        self.release.set()
        socket.create_connection(("127.0.0.1", self.port)).close()  # wakes accept()
        self._acceptor.join()
        self._listener.close()
        with self._lock:
            for sock in self._open:
                with contextlib.suppress(OSError):  # its worker may have closed it just now
                    sock.shutdown(socket.SHUT_RDWR)
        for worker in self._workers:
            worker.join()

    def _accept(self) -> None:
        while True:
            client, _ = self._listener.accept()
            if self._stopping:
                client.close()
                return
            with self._lock:
                self._open.add(client)
            worker = threading.Thread(target=self._serve, args=(client,), name="fault-proxy-request", daemon=True)
            self._workers.append(worker)
            worker.start()

    def _serve(self, client: socket.socket) -> None:
        try:
            with client:
                client.settimeout(WAIT_CAP_S)
                self._handle(client)
        except OSError:
            pass  # the terminal hung up or was killed: what these tests cause on purpose
        finally:
            with self._lock:
                self._open.discard(client)
                self._lock.notify_all()

    def _handle(self, client: socket.socket) -> None:
        with self._lock:
            self.requests += 1
            fault = self._faults.popleft() if self._faults else "pass"
        if fault == "drop_mid_request":
            _read_head(client)  # the head and whatever part of the body came with it
            return
        request = _read_message(client)
        if not request:
            return  # closed before a whole head arrived: nothing to answer
        if fault.startswith("status_"):
            client.sendall(_error_answer(int(fault.removeprefix("status_"))))
        elif fault == "garbage":
            client.sendall(_answer(200, GARBAGE, "text/html"))
        else:
            if fault == "slow":
                client.recv(1)  # returns once the terminal gave up waiting and closed its side
            answer = self._forward(request)
            if fault == "hold":
                self.holding.set()
                self.release.wait(WAIT_CAP_S)
            if fault in ("pass", "hold") and answer:
                client.sendall(answer)
            # lose_answer and slow: head office stored it; the terminal hears nothing.

    def _forward(self, request: bytes) -> bytes:
        """Head office's whole answer to `request`; b"" when it is unreachable or died before answering."""
        try:
            with socket.create_connection(("127.0.0.1", self.upstream_port), timeout=WAIT_CAP_S) as upstream:
                upstream.sendall(request)
                self.forwarded.set()
                return _read_message(upstream)
        except OSError:
            return b""
