"""`make run`: the web app (with the Lark sandbox) and, beside it, the delivery worker."""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import threading
import time

from flask import Flask

from webapp import create_app, demo
from webapp.sandbox import inbox


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    args = parser.parse_args()
    base = f"http://{args.host}:{args.port}"
    env = {**os.environ, "PUBLIC_BASE_URL": os.environ.get("PUBLIC_BASE_URL", base)}
    mail_server = None
    if not env.get("SMTP_URL"):  # a local mail server: the sandbox shows its inbox
        mail_server, env["SMTP_URL"] = inbox.serve()
        env.setdefault("MAIL_FROM", "oncall@localhost")
        print(f"local mail server at {env['SMTP_URL']}; inbox at {base}/_lark/inbox")
    os.environ.update(env)
    app = create_app()
    worker = None
    if "lark" in app.cli.commands:  # the outbox worker delivers cards to the sandbox
        worker = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "app", "lark", "worker"], env=env
        )
    if app.config["LARK_SANDBOX"]:
        threading.Thread(
            target=_verify_when_up, args=(app, args.host, args.port), daemon=True
        ).start()
    try:
        app.run(host=args.host, port=args.port, threaded=True, use_reloader=False)
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=10)
        if mail_server is not None:
            mail_server.stop()


def _verify_when_up(app: Flask, host: str, port: int) -> None:
    """Once the server answers, save the seeded card request URL in the sandbox's console
    (webapp/demo.py: verify_card_url), as an admin following the guide would."""
    for _attempt in range(100):
        try:
            socket.create_connection((host, port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    with app.app_context():
        passed, words = demo.verify_card_url()
    print(f"sandbox: card request URL {'verified' if passed else 'not verified'}: {words}")


if __name__ == "__main__":
    main()
