"""An emulated card in a vpcd virtual reader: the card end of vpcd's socket protocol.

vsmartcard-vpcd (3.3) listens on a TCP port per reader slot; a card is *inserted* when a
process connects and *removed* when the socket closes. Both ways every message is a 2-byte
big-endian length and a payload. A 1-byte payload from vpcd is a control message (00 power
off, 01 power on, 02 reset, 04 get ATR — answered with the ATR); a longer one is a command
APDU, answered with the response data and SW1 SW2.

The card's behaviour is a plain object with `atr` and `transmit(apdu) -> (data, sw1, sw2)`,
so EMV tests script cards without knowing any of this. A `transmit` that raises CardPulled
closes the socket instead of answering: the card leaves the reader mid-command.
"""

from __future__ import annotations

import socket
import struct
import threading
from typing import Protocol

POWER_OFF, POWER_ON, RESET, GET_ATR = 0x00, 0x01, 0x02, 0x04


class Card(Protocol):
    atr: bytes

    def transmit(self, apdu: bytes) -> tuple[bytes, int, int]:
        """Answer one command APDU."""


class CardPulled(Exception):
    """Raised by a card's `transmit` to leave the reader instead of answering."""


class InsertedCard:
    """One card held in one vpcd slot, served by a thread until `remove()`."""

    def __init__(self, card: Card, port: int, host: str = "127.0.0.1"):
        self.card = card
        self.port = port
        self.error: Exception | None = None  # what the card's transmit raised, if not CardPulled
        self._sock = socket.create_connection((host, port), timeout=5)
        self._sock.settimeout(None)
        self._thread = threading.Thread(target=self._serve, name=f"vpcd-card:{port}", daemon=True)
        self._thread.start()

    def remove(self) -> None:
        """Close the socket: vpcd reports the card absent at pcscd's next poll (up to ~400 ms)."""
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # already closed by CardPulled or by vpcd
        self._sock.close()
        self._thread.join(timeout=5)

    def _recv_exact(self, size: int) -> bytes | None:
        data = bytearray()
        while len(data) < size:
            # vpcd writes the length and the payload in two sends; without QUICKACK before
            # every recv, Nagle on vpcd's side waits for our delayed ACK: 44 ms per APDU.
            self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
            chunk = self._sock.recv(size - len(data))
            if not chunk:
                return None
            data += chunk
        return bytes(data)

    def _send(self, payload: bytes) -> None:
        self._sock.sendall(struct.pack(">H", len(payload)) + payload)  # one send: no Nagle stall

    def _serve(self) -> None:
        try:
            while True:
                header = self._recv_exact(2)
                if header is None:
                    return
                payload = self._recv_exact(struct.unpack(">H", header)[0])
                if payload is None:
                    return
                if len(payload) == 1:
                    if payload[0] == GET_ATR:
                        self._send(bytes(self.card.atr))
                    continue  # power off / on / reset need no answer
                try:
                    data, sw1, sw2 = self.card.transmit(payload)
                except CardPulled:
                    self._sock.close()
                    return
                self._send(bytes(data) + bytes((sw1, sw2)))
        except OSError:
            return  # remove(), or vpcd went away (pcscd stopped): the card is out either way
        except Exception as exc:  # the card's script broke: leave the reader, so no one waits for an answer
            self.error = exc
            self._sock.close()
