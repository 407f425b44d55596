"""The sandbox's own encryption and signatures agree with the official vector and lark-oapi."""

from __future__ import annotations

import json

from lark_oapi.core.utils import AESCipher

from webapp.sandbox import crypto

SECOND_VECTOR = (
    "AAECAwQFBgcICQoLDA0OD9f9wT+9irvSOo90S3ts0qZVMSk7U2BH/TtRYOiA40BxKtr4FBzsAl0t3kvC"
    "I8melOz6SmahLXaTlD5yU1RziReL3lqBgI9rQzaBmmNk5koQ"
)


def test_it_decrypts_the_official_test_vector() -> None:
    assert (
        crypto.decrypt("test key", "P37w+VZImNgPEO1RBhJ6RtKl7n6zymIbEG1pReEzghk=") == "hello world"
    )


def test_it_encrypts_like_lark_with_a_fixed_iv() -> None:
    plain = '{"challenge":"ch-123","token":"vtoken","type":"url_verification"}'
    assert crypto.encrypt("test key", plain, iv=bytes(range(16))) == SECOND_VECTOR


def test_lark_oapi_decrypts_what_the_sandbox_encrypts() -> None:
    sealed = crypto.encrypt("sandbox key", json.dumps({"hello": "世界"}))
    assert json.loads(AESCipher("sandbox key").decrypt_str(sealed)) == {"hello": "世界"}
    assert crypto.encrypt("k", "same") != crypto.encrypt("k", "same")  # a fresh IV each time


def test_its_signatures_match_the_worked_examples() -> None:
    body = ('{"encrypt":"' + SECOND_VECTOR + '"}').encode()
    assert (
        crypto.sha256_signature("1700000000", "nonce-abc", "test key", body)
        == "95262d78f3ec4e77795e47c5185d9734737dda9f40228e0fe239a77023be950e"
    )
    old = b'{"open_id":"ou_x","token":"c-xxx","action":{"value":{"k":"v"},"tag":"button"}}'
    assert (
        crypto.sha1_signature("1700000000", "nonce-abc", "vtoken", old)
        == "aa234cbe26112e955f8a3e3dbd405b3e1ec7ebe7"
    )
