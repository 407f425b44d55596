"""lark-oapi's own API client, pointed at the sandbox, gets a token and sends a card.

lark-oapi 1.7.5 only accepts an origin as its domain (no path), so the sandbox's
/_lark prefix is supplied by a tiny forwarding server on its own port, standing in for
the open.feishu.cn host.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import lark_oapi
import pytest
import requests
from flask import Flask
from lark_oapi.api.contact.v3 import BatchGetIdUserRequest, BatchGetIdUserRequestBody
from lark_oapi.api.im.v1 import (
    CreateMessageRequest,
    CreateMessageRequestBody,
    ListChatRequest,
    UrgentAppMessageRequest,
    UrgentPhoneMessageRequest,
    UrgentReceivers,
    UrgentSmsMessageRequest,
)
from werkzeug.serving import make_server

from tests.sandbox_fixtures import LarkSandbox
from tests.sandbox_helpers import card
from webapp.lark.client import LarkClient
from webapp.sandbox import seed


@pytest.fixture
def lark_origin(lark: LarkSandbox) -> Iterator[str]:
    """An origin whose /open-apis/... is the sandbox's /_lark/open-apis/..."""

    def forward(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        query = environ.get("QUERY_STRING", "")
        url = lark.base_url + environ["PATH_INFO"] + (f"?{query}" if query else "")
        headers = {
            k[5:].replace("_", "-").title(): v for k, v in environ.items() if k.startswith("HTTP_")
        }
        headers["Content-Type"] = environ.get("CONTENT_TYPE", "")
        headers.pop("Host", None)
        answer = requests.request(
            environ["REQUEST_METHOD"],
            url,
            data=environ["wsgi.input"].read(length),
            headers=headers,
            timeout=10,
        )
        start_response(
            f"{answer.status_code} X", [("Content-Type", answer.headers.get("Content-Type", ""))]
        )
        return [answer.content]

    server = make_server("127.0.0.1", 0, forward, threaded=True)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def _client(lark: LarkSandbox, origin: str) -> tuple[lark_oapi.Client, str]:
    # A fresh app: the SDK caches tokens per app_id for the whole process.
    app = lark.create_app("SDK check")
    client = (
        lark_oapi.Client.builder()
        .app_id(app.app_id)
        .app_secret(app.app.app_secret)
        .domain(origin)
        .log_level(lark_oapi.LogLevel.ERROR)
        .build()
    )
    return client, app.app_id


def test_the_official_sdk_sends_a_card_through_the_sandbox(
    lark: LarkSandbox, lark_origin: str
) -> None:
    client, app_id = _client(lark, lark_origin)
    request = (
        CreateMessageRequest.builder()
        .receive_id_type("open_id")
        .request_body(
            CreateMessageRequestBody.builder()
            .receive_id(seed.HAN_MEIMEI.open_id)
            .msg_type("interactive")
            .content(json.dumps(card("Sent by lark-oapi")))
            .uuid("sdk-1")
            .build()
        )
        .build()
    )
    response = client.im.v1.message.create(request)
    assert response.success(), (response.code, response.msg)
    assert response.data.message_id.startswith("om_") and response.data.sender.id == app_id
    [received] = lark.messages_to(seed.HAN_MEIMEI.open_id)
    assert received.title == "Sent by lark-oapi"
    assert lark.calls("/open-apis/auth/v3/tenant_access_token/internal")[0].status == 200


def test_the_official_sdk_reads_lark_errors_and_lists(lark: LarkSandbox, lark_origin: str) -> None:
    client, _app_id = _client(lark, lark_origin)
    body = (
        CreateMessageRequestBody.builder()
        .receive_id(seed.OUT_OF_RANGE_USER.email)
        .msg_type("text")
        .content(json.dumps({"text": "hi"}))
        .build()
    )
    lark.app(_app_id).configure(visibility={seed.LI_LEI.open_id})
    refused = client.im.v1.message.create(
        CreateMessageRequest.builder().receive_id_type("email").request_body(body).build()
    )
    assert refused.code == 230013
    chats = client.im.v1.chat.list(ListChatRequest.builder().page_size(20).build())
    assert chats.success() and chats.data.items == [] and chats.data.has_more is False
    found = client.contact.v3.user.batch_get_id(
        BatchGetIdUserRequest.builder()
        .user_id_type("open_id")
        .request_body(BatchGetIdUserRequestBody.builder().emails([seed.LI_LEI.email]).build())
        .build()
    )
    assert found.data.user_list[0].user_id == seed.LI_LEI.open_id


@pytest.mark.parametrize("via", ["app", "sms", "phone"])
def test_our_buzz_request_is_shaped_like_the_official_sdk_s(
    via: str, app: Flask, lark: LarkSandbox, lark_origin: str
) -> None:
    """lark-oapi's UrgentApp/Sms/PhoneMessageRequest and our LarkClient.buzz send the same
    method, path, query and body, and the sandbox accepts both."""
    sdk, app_id = _client(lark, lark_origin)
    app_handle = lark.app(app_id)
    ours = LarkClient(
        base_url=lark.base_url, app_id=app_id, app_secret=app_handle.app.app_secret, timeout=5
    )
    message_id = ours.send_card(
        "open_id", seed.LI_LEI.open_id, card("Buzz me"), "buzz-sdk"
    ).message_id
    builders = {
        "app": UrgentAppMessageRequest,
        "sms": UrgentSmsMessageRequest,
        "phone": UrgentPhoneMessageRequest,
    }
    request = (
        builders[via]
        .builder()
        .message_id(message_id)
        .user_id_type("open_id")
        .request_body(UrgentReceivers.builder().user_id_list([seed.LI_LEI.open_id]).build())
        .build()
    )
    answer = getattr(sdk.im.v1.message, f"urgent_{via}")(request)
    assert answer.success(), (answer.code, answer.msg)
    assert answer.data.invalid_user_id_list == []
    with app.app_context():
        assert ours.buzz(message_id, via, [seed.LI_LEI.open_id]) == []

    sdk_call, our_call = lark.calls(f"*/urgent_{via}", "PATCH")
    assert sdk_call.path == our_call.path == f"/open-apis/im/v1/messages/{message_id}/urgent_{via}"
    assert sdk_call.query == our_call.query == {"user_id_type": "open_id"}
    assert sdk_call.body == our_call.body == {"user_id_list": [seed.LI_LEI.open_id]}
