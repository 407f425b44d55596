"""How long saving the integration form takes against the local Lark sandbox.

    python -m bench.integration_save [--rounds 10]

Builds the app with the sandbox (SQLite in a temporary folder, served on loopback so the
product calls the sandbox over HTTP as it would call Lark), signs an admin in, then times
`POST /admin/integrations/new` and `POST /admin/integrations/<id>/edit` (the save, with its
credential check against the sandbox's tenant_access_token) and the detail page the save
redirects to. Prints the median and the slowest of each. The goal is under a second.
"""

from __future__ import annotations

import argparse
import logging
import re
import statistics
import tempfile
import threading
import time
from pathlib import Path

from werkzeug.serving import make_server

from webapp import create_app
from webapp.extensions import db
from webapp.models import Account, Member, Role
from webapp.sandbox import seed
from webapp.vault import new_key

PASSWORD = "bench password 123"


def _csrf(page: str) -> str:
    match = re.search(r'<meta name="csrf-token" content="([^"]+)"', page)
    assert match
    return match.group(1)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args(argv)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    folder = Path(tempfile.mkdtemp())
    app = create_app(
        {
            "DATABASE_URL": f"sqlite:///{folder / 'bench.db'}",
            "SECRET_KEY": "bench",
            "DATA_KEY": new_key(),
            "LARK_SANDBOX": True,
            "REDIS_URL": "",
            "WTF_CSRF_ENABLED": True,
        }
    )
    server = make_server("127.0.0.1", 0, app, threaded=True)
    app.config["PUBLIC_BASE_URL"] = f"http://127.0.0.1:{server.server_port}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with app.app_context():
        db.create_all()
        account = Account(name="Bench", seats_allowed=5)
        admin = Member(account=account, name="Admin", email="a@example.com", role=Role.OWNER)
        admin.set_password(PASSWORD)
        db.session.add_all([account, admin])
        db.session.commit()
    client = app.test_client()
    token = _csrf(client.get("/login").get_data(as_text=True))
    client.post(
        "/login", data={"email": "a@example.com", "password": PASSWORD, "csrf_token": token}
    )
    form = {
        "csrf_token": token,
        "name": "Bench",
        "app_id": seed.DEMO_APP_ID,
        "app_secret": seed.DEMO_APP_SECRET,
        "verification_token": seed.DEMO_VERIFICATION_TOKEN,
        "encrypt_key": seed.DEMO_ENCRYPT_KEY,
        "platform": "feishu",
        "edition": "paid",
        "api_base_url": f"{app.config['PUBLIC_BASE_URL']}/_lark",
    }
    created, edited, detail = [], [], []
    for _round in range(args.rounds):
        start = time.perf_counter()
        response = client.post("/admin/integrations/new", data=form)
        created.append(time.perf_counter() - start)
        assert response.status_code == 303, response.get_data(as_text=True)[:2000]
        location = response.headers["Location"]
        start = time.perf_counter()
        client.get(location)
        detail.append(time.perf_counter() - start)
        start = time.perf_counter()
        response = client.post(location + "/edit", data={**form, "name": "Bench 2"})
        edited.append(time.perf_counter() - start)
        assert response.status_code == 303
    for label, times in (("create", created), ("edit", edited), ("detail page", detail)):
        print(
            f"{label:12} median {statistics.median(times) * 1000:7.1f} ms"
            f"   slowest {max(times) * 1000:7.1f} ms   ({len(times)} rounds)"
        )
    server.shutdown()


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
