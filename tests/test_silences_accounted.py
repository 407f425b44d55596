"""Silences accounted for: diagnostics warns of risky ones, insights counts what they held,
and the incident page says why nobody was paged."""

from __future__ import annotations

from datetime import timedelta

from flask.testing import FlaskClient

from tests.conftest import sign_in
from tests.factories import Persona
from tests.incident_pages_support import enter, integration
from tests.silences_support import firing, paging_channel, post, silence
from webapp.diagnostics.checks import Level
from webapp.diagnostics.silences import silences_check


def test_diagnostics_warns_of_a_catch_all_silence_and_one_of_ten_days(owner: Persona) -> None:
    silence(owner, "alertname=DiskFull", hours=2)
    assert silences_check(owner.account).status is Level.OK

    silence(owner, 'alertname=~".+"', hours=1, comment="everything")
    silence(owner, "env=staging", hours=240)

    check = silences_check(owner.account)
    assert check.status is Level.WARNING
    assert len(check.items) == 2
    assert any('alertname=~".+"' in i and "matches every alert" in i for i in check.items)
    assert any('env="staging"' in i and "lasts 10 days" in i for i in check.items)


def test_an_ended_silence_is_no_longer_a_warning(owner: Persona, clock: object) -> None:
    silence(owner, 'alertname=~".+"', hours=1)
    clock.shift(timedelta(hours=2))  # type: ignore[attr-defined]
    assert silences_check(owner.account).status is Level.OK


def test_insights_count_the_silenced_alerts_of_each_rule(
    client: FlaskClient, owner: Persona
) -> None:
    _, source = paging_channel(owner)
    silence(owner)
    post(client, source, firing())
    post(client, source, firing(fingerprint="f00e", instance="db-02"))  # the rule again, elsewhere
    post(client, source, firing("HighLoad", fingerprint="beef"))
    sign_in(client, owner)

    html = client.get("/admin/insights/?days=7").get_data(as_text=True)

    rows = html.split('id="ins-rules"')[1].split("</table>")[0]
    disk = rows.split("Disk full on db-01")[1].split("</tr>")[0]
    assert disk.rstrip().endswith("<td>2</td>")
    assert "2 alerts were silenced in this period" in html


def test_the_incident_page_says_who_silenced_it_and_why(
    client: FlaskClient, owner: Persona
) -> None:
    _, source = paging_channel(owner)
    silence(owner, comment="db switchover")
    incident = post(client, source, firing())
    lark = integration(owner.account)
    enter(client, owner, lark)

    html = client.get(f"/lark/{lark.key}/incidents/{incident.number}").get_data(as_text=True)

    assert "Silenced until" in html and "db switchover" in html
    assert f"Silenced by {owner.member.name} (alertname=&#34;DiskFull&#34;): db switchover" in html
