"""The Lark sandbox: a local stand-in for the Lark Open Platform and client, under /_lark/.

Enabled only when LARK_SANDBOX is on (the demo and the tests), never in production.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Mount the sandbox. Filled in by the sandbox package's modules."""
