"""Callback crypto against the official vector, our own vectors, and lark-oapi's code."""

from __future__ import annotations

import base64
import json

import pytest
from lark_oapi.card.action_handler import CardActionHandler
from lark_oapi.core.exception import AccessDeniedException
from lark_oapi.core.model import RawRequest
from lark_oapi.core.utils import AESCipher
from lark_oapi.event.dispatcher_handler import EventDispatcherHandler

from webapp.lark import crypto

OFFICIAL_ENCRYPTED = "P37w+VZImNgPEO1RBhJ6RtKl7n6zymIbEG1pReEzghk="
JSON_VECTOR = (
    "AAECAwQFBgcICQoLDA0OD9f9wT+9irvSOo90S3ts0qZVMSk7U2BH/TtRYOiA40BxKtr4FBzsAl0t3kvCI8melOz6"
    "SmahLXaTlD5yU1RziReL3lqBgI9rQzaBmmNk5koQ"
)
JSON_PLAIN = '{"challenge":"ch-123","token":"vtoken","type":"url_verification"}'
V1_BODY = b'{"open_id":"ou_x","token":"c-xxx","action":{"value":{"k":"v"},"tag":"button"}}'


def _request(timestamp: str, nonce: str, signature: str, body: bytes) -> RawRequest:
    req = RawRequest()
    req.headers = {
        "X-Lark-Request-Timestamp": timestamp,
        "X-Lark-Request-Nonce": nonce,
        "X-Lark-Signature": signature,
    }
    req.body = body
    return req


def _sdk_v2_accepts(key: str, req: RawRequest) -> bool:
    handler = EventDispatcherHandler.builder(key, "vtoken").build()
    try:
        handler._verify_sign(req, key)
    except AccessDeniedException:
        return False
    return True


def _sdk_v1_accepts(token: str, req: RawRequest) -> bool:
    handler = CardActionHandler.builder("", token).build()
    try:
        handler._verify_sign(req)
    except AccessDeniedException:
        return False
    return True


def test_it_decrypts_the_official_test_vector() -> None:
    assert crypto.decrypt("test key", OFFICIAL_ENCRYPTED) == "hello world"


def test_it_decrypts_the_json_vector_and_encrypts_it_back_with_the_same_iv() -> None:
    assert crypto.decrypt("test key", JSON_VECTOR) == JSON_PLAIN
    assert crypto.encrypt("test key", JSON_PLAIN, iv=bytes(range(16))) == JSON_VECTOR


def test_lark_oapi_decrypts_what_it_encrypts() -> None:
    sealed = crypto.encrypt("another key", '{"hello":"世界"}')
    assert AESCipher("another key").decrypt_str(sealed) == '{"hello":"世界"}'


@pytest.mark.parametrize(
    "payload",
    ["not base64 at all!", base64.b64encode(b"short").decode(), OFFICIAL_ENCRYPTED[:-4] + "AAA="],
)
def test_it_rejects_malformed_ciphertext(payload: str) -> None:
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt("test key", payload)


def test_it_rejects_the_wrong_key() -> None:
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt("wrong key", JSON_VECTOR)


def test_the_new_channel_signature_matches_the_documented_example() -> None:
    body = json.dumps({"encrypt": JSON_VECTOR}, separators=(",", ":")).encode()
    signature = crypto.v2_signature("1700000000", "nonce-abc", "test key", body)
    assert signature == "95262d78f3ec4e77795e47c5185d9734737dda9f40228e0fe239a77023be950e"


def test_the_old_channel_signature_matches_the_documented_example() -> None:
    signature = crypto.v1_signature("1700000000", "nonce-abc", "vtoken", V1_BODY)
    assert signature == "aa234cbe26112e955f8a3e3dbd405b3e1ec7ebe7"


def test_lark_oapi_accepts_our_new_channel_signatures_and_we_accept_its_own() -> None:
    body = b'{"encrypt":"' + crypto.encrypt("k3y", "{}").encode() + b'"}'
    ours = crypto.v2_signature("1732500000", "n0nce", "k3y", body)
    assert _sdk_v2_accepts("k3y", _request("1732500000", "n0nce", ours, body))
    assert crypto.signatures_match(ours, ours)


def test_both_sides_reject_a_new_channel_signature_over_a_changed_body() -> None:
    body = b'{"encrypt":"abc"}'
    signature = crypto.v2_signature("1732500000", "n0nce", "k3y", body)
    tampered = b'{"encrypt":"abd"}'
    assert not _sdk_v2_accepts("k3y", _request("1732500000", "n0nce", signature, tampered))
    expected = crypto.v2_signature("1732500000", "n0nce", "k3y", tampered)
    assert not crypto.signatures_match(expected, signature)


def test_lark_oapi_accepts_our_old_channel_signatures() -> None:
    signature = crypto.v1_signature("1732500000", "n0nce", "vtoken", V1_BODY)
    assert _sdk_v1_accepts("vtoken", _request("1732500000", "n0nce", signature, V1_BODY))


def test_both_sides_reject_an_old_channel_signature_made_with_another_token() -> None:
    forged = crypto.v1_signature("1732500000", "n0nce", "guess", V1_BODY)
    assert not _sdk_v1_accepts("vtoken", _request("1732500000", "n0nce", forged, V1_BODY))
    expected = crypto.v1_signature("1732500000", "n0nce", "vtoken", V1_BODY)
    assert not crypto.signatures_match(expected, forged)


def test_the_new_and_old_schemes_are_not_interchangeable() -> None:
    sha1 = crypto.v1_signature("1", "n", "secret", b"{}")
    sha256 = crypto.v2_signature("1", "n", "secret", b"{}")
    assert not crypto.signatures_match(sha256, sha1)


@pytest.mark.parametrize("given", [None, "", "é" * 64])
def test_a_missing_or_garbled_signature_never_matches(given: str | None) -> None:
    expected = crypto.v2_signature("1", "n", "k", b"{}")
    assert not crypto.signatures_match(expected, given)
