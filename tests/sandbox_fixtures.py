"""The `lark` fixture: a handle on the Lark sandbox that the live app serves at /_lark.

Registered in tests/conftest.py with `pytest_plugins = ["tests.sandbox_fixtures"]`.
The sandbox runs inside the test process (the live server's threads), so the handle
reads and configures it directly; the product still talks to it over real HTTP.

    def test_it_sends_a_card(lark, live_server):
        lark.app().configure(card_request_url=f"{live_server}/lark/{key}/card")
        ...
        [card] = lark.messages_to(seed.LI_LEI.open_id)
        result = lark.click(card.message_id, seed.LI_LEI.open_id, button="Acknowledge")
        assert result.toast["content"] == "..."

The handle (webapp/sandbox/handle.py): app(app_id).configure(...), create_app(...),
messages_to(open_id | chat_id), message(id), click(message_id, open_id, value | button=),
calls(path_glob, method), fail(path_glob, status= | hang= | code=, times= | seconds=),
clear_faults(), limits(on), set_quota(edition=, monthly_quota=, usage=), usage(),
oauth_code(open_id, redirect_uri, code_challenge=), client_session(open_id),
open_workbench(open_id), add_user(...), create_chat(...), set_bot_in_chat(...),
dissolve_chat(...) (state only, no events), advance(seconds); people acting in groups, with
Lark's events sent to the app's event request URL: add_bot(chat_id, by=open_id),
remove_bot(...), disband(chat_id, by=owner), say(chat_id, open_id, text, at=(app_id,)),
events_sent(event_type), redeliver(sent) (Lark's retry: the same event_id). `lark_receiver`
is a tiny HTTP server that records what the sandbox sends (callbacks, events,
url_verification) and answers with `receiver.answer`.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from webapp.sandbox.handle import LarkSandbox


@pytest.fixture
def lark(app: Flask, live_server: str) -> LarkSandbox:
    """The sandbox, freshly seeded for this test (reset after every test by conftest)."""
    return LarkSandbox(app)


@dataclass
class Received:
    """One request the sandbox sent to a receiver (a card callback, a url_verification)."""

    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


Answer = Callable[[Received], tuple[int, Any]]


@dataclass
class Receiver:
    """A tiny HTTP server standing in for a product URL; `answer` decides each reply."""

    url: str
    requests: list[Received] = field(default_factory=list)
    answer: Answer = lambda received: (200, {})


@pytest.fixture
def lark_receiver() -> Iterator[Receiver]:
    receiver = Receiver(url="")

    def wsgi(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        headers = {
            k[5:].replace("_", "-").title(): v for k, v in environ.items() if k.startswith("HTTP_")
        }
        received = Received(headers, environ["wsgi.input"].read(length))
        receiver.requests.append(received)
        status, payload = receiver.answer(received)
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        start_response(f"{status} X", [("Content-Type", "application/json")])
        return [data]

    server = make_server("127.0.0.1", 0, wsgi, threaded=True)
    receiver.url = f"http://127.0.0.1:{server.server_port}/card"
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    yield receiver
    server.shutdown()
    server.server_close()
