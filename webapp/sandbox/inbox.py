"""A local mail server and its inbox: the e-mail the product sends when Lark cannot deliver.

`make run` starts `serve()` (aiosmtpd, in process, on a free port) and points SMTP_URL at it;
the tests do the same. Received mail is kept in memory and shown at /_lark/inbox. Like the
rest of the sandbox this module never imports the product.
"""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from flask import Blueprint, render_template

bp = Blueprint("lark_sandbox_inbox", __name__, url_prefix="/_lark")


@dataclass(frozen=True)
class Mail:
    """One message as the SMTP server received it."""

    received_at: datetime
    mail_from: str
    to: list[str]
    subject: str
    body: str
    message_id: str


@dataclass
class Inbox:
    mails: list[Mail] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, mail: Mail) -> None:
        with self.lock:
            self.mails.append(mail)

    def all(self) -> list[Mail]:
        with self.lock:
            return list(self.mails)

    def to(self, address: str) -> list[Mail]:
        return [m for m in self.all() if address in m.to]

    def reset(self) -> None:
        with self.lock:
            self.mails.clear()


inbox = Inbox()


class _Handler:
    """aiosmtpd's handler: parse each message with the standard library and keep it."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.original_content or b"", policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        part = parsed.get_body(preferencelist=("plain",))
        inbox.add(
            Mail(
                received_at=datetime.now(UTC),
                mail_from=str(envelope.mail_from),
                to=[str(r) for r in envelope.rcpt_tos],
                subject=str(parsed.get("Subject", "")),
                body=part.get_content() if part is not None else "",
                message_id=str(parsed.get("Message-ID", "")),
            )
        )
        return "250 Message accepted for delivery"


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def serve(host: str = "127.0.0.1", port: int | None = None) -> tuple[Controller, str]:
    """Start the local SMTP server; returns it (call `.stop()`) and its SMTP_URL."""
    controller = Controller(_Handler(), hostname=host, port=port or free_port(host))
    controller.start()
    return controller, f"smtp://{host}:{controller.port}"


@bp.get("/inbox")
def inbox_page() -> str:
    mails = sorted(inbox.all(), key=lambda m: m.received_at, reverse=True)
    return render_template("sandbox/inbox.html", mails=mails, lark_user=None)
