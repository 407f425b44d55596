"""A webhook receiver in this process: a real HTTP server on 127.0.0.1 that verifies each
delivery with the `standardwebhooks` library, the way an account's own tool would, and
processes each `webhook-id` once (registered in tests/conftest.py as a plugin)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError
from werkzeug.serving import make_server


@dataclass
class Delivered:
    headers: dict[str, str]
    body: bytes

    @property
    def id(self) -> str:
        return self.headers["Webhook-Id"]


@dataclass
class WebhookReceiver:
    url: str = ""
    secret: str = ""
    received: list[Delivered] = field(default_factory=list)
    # Events processed: one per webhook-id, however many times it arrived.
    processed: dict[str, Any] = field(default_factory=dict)
    refused: list[str] = field(default_factory=list)
    # (status, body, delay in seconds, extra headers) of the next answers; then 200.
    answers: list[tuple[int, bytes, float, dict[str, str]]] = field(default_factory=list)
    answer: Callable[[Delivered], tuple[int, bytes]] | None = None

    def verified(self, delivered: Delivered) -> Any:
        return Webhook(self.secret).verify(delivered.body, delivered.headers)

    def types(self) -> list[str]:
        return [event["type"] for event in self.processed.values()]


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    hook = WebhookReceiver()

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        headers = {
            k[5:].replace("_", "-").title(): v for k, v in environ.items() if k.startswith("HTTP_")
        }
        delivered = Delivered(headers, environ["wsgi.input"].read(length))
        hook.received.append(delivered)
        status, body, delay, extra = (
            hook.answers.pop(0) if hook.answers else (200, b'{"ok": true}', 0.0, {})
        )
        if delay:
            time.sleep(delay)  # a receiver slower than the sender's timeout
        if 200 <= status < 300:
            try:
                event = hook.verified(delivered)
            except WebhookVerificationError as exc:
                hook.refused.append(str(exc))
                status, body = 400, b"bad signature"
            else:
                hook.processed.setdefault(delivered.id, event)  # de-duplicated by webhook-id
        start_response(f"{status} X", [("Content-Type", "application/json"), *extra.items()])
        return [body]

    server = make_server("127.0.0.1", 0, wsgi, threaded=True)
    hook.url = f"http://127.0.0.1:{server.server_port}/hooks"
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    yield hook
    server.shutdown()
    server.server_close()


def body_of(delivered: Delivered) -> Any:
    return json.loads(delivered.body)
