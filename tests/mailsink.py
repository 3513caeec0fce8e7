"""A real SMTP server on loopback for tests (aiosmtpd): every email delivered over the wire lands here."""

from __future__ import annotations

import email.header
import socket
import threading
import time
from collections import Counter

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def text_of(message, content_type: str = "text/plain") -> str:
    """The first `content_type` part of a received message (text/plain unless told), decoded."""
    part = next((p for p in message.walk() if p.get_content_type() == content_type), None)
    assert part is not None, f"no {content_type} part in {message['Subject']!r}"
    return part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")


def link_in(message, path: str) -> str:
    """The path (and query) of the first link in the message's text that starts with `path`."""
    import re

    found = re.search(r"https?://[^/\s]+(" + re.escape(path) + r"[^\s]*)", text_of(message))
    assert found, f"no {path} link in: {text_of(message)}"
    return found.group(1)


class Sink(Message):
    """The server's message store."""

    def __init__(self) -> None:
        super().__init__()
        self.messages: list = []
        self.lock = threading.Lock()

    def handle_message(self, message) -> None:
        with self.lock:
            self.messages.append(message)


def _header(value: str | None) -> str:
    return str(email.header.make_header(email.header.decode_header(value or "")))


class MailServer:
    """An SMTP server on a fixed loopback port that tests can stop and start again ("SMTP is down")."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.sink = Sink()
        self.controller: Controller | None = None

    def start(self) -> None:
        if self.controller is None:
            self.controller = Controller(self.sink, hostname="127.0.0.1", port=self.port)
            self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def messages(self) -> list:
        """The messages received so far (the live list: tests may clear it)."""
        return self.sink.messages

    def to(self, address: str) -> list:
        with self.sink.lock:
            return [m for m in self.sink.messages if address.lower() in m["To"].lower()]

    def wait_for(self, count: int, timeout: float = 5.0) -> list:
        deadline = time.monotonic() + timeout
        while len(self.sink.messages) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.sink.messages

    def envelopes(self) -> Counter:
        """How many messages arrived per (recipient, subject)."""
        with self.sink.lock:
            return Counter((_header(m["To"]).lower(), _header(m["Subject"])) for m in self.sink.messages)
