"""The member's incident list and detail in the Lark web app, and acting on them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from flask.testing import FlaskClient
from sqlalchemy import event

from tests import factories
from tests.incident_pages_support import csrf_from, enter, integration, many
from webapp.extensions import db
from webapp.incidents import service as incidents
from webapp.incidents.service import Actor
from webapp.models import Incident, IncidentEvent, LarkIntegration, Source, Status

HX = {"HX-Request": "true"}


@pytest.fixture
def lark(owner: factories.Persona) -> LarkIntegration:
    return integration(owner.account)


@pytest.fixture
def web(client: FlaskClient, owner: factories.Persona, lark: LarkIntegration) -> FlaskClient:
    """The owner, signed in through the Lark integration."""
    enter(client, owner, lark)
    return client


def _url(lark: LarkIntegration, path: str = "") -> str:
    return f"/lark/{lark.key}/incidents{path}"


def _token(web: FlaskClient, lark: LarkIntegration) -> str:
    return csrf_from(web.get(_url(lark)).get_data(as_text=True))


def _act(
    web: FlaskClient,
    lark: LarkIntegration,
    incident: Incident,
    verb: str,
    *,
    htmx: bool = True,
    **form: str,
) -> tuple[int, str, dict[str, str]]:
    data = {"csrf_token": _token(web, lark), "version": str(incident.version), **form}
    response = web.post(
        _url(lark, f"/{incident.number}/{verb}"), data=data, headers=HX if htmx else {}
    )
    return response.status_code, response.get_data(as_text=True), dict(response.headers)


def _toast(headers: dict[str, str]) -> dict[str, str]:
    toast: dict[str, str] = json.loads(headers["HX-Trigger"])["toast"]
    return toast


def _fresh(incident: Incident) -> Incident:
    db.session.expire_all()
    found = db.session.get(Incident, incident.id)
    assert found is not None
    return found


# -- list -------------------------------------------------------------------------------


def test_the_list_shows_my_open_incidents_with_counts(
    web: FlaskClient, lark: LarkIntegration, owner: factories.Persona
) -> None:
    me = owner.member
    factories.incident(owner.account, "Disk full on db-01", assignees=[me])
    closed = factories.incident(owner.account, "Old outage", assignees=[me])
    incidents.resolve(closed, Actor(me, Source.WEB))
    page = web.get(_url(lark)).get_data(as_text=True)
    assert "Disk full on db-01" in page
    assert "Old outage" not in page
    assert 'data-status="triggered">1<' in page
    assert 'data-status="closed">1<' in page


def test_the_homepage_opens_the_list(web: FlaskClient, lark: LarkIntegration) -> None:
    response = web.get(f"/lark/{lark.key}/", follow_redirects=True)
    assert response.status_code == 200
    assert 'id="incident-list"' in response.get_data(as_text=True)


def test_filters_live_in_the_url(
    web: FlaskClient, lark: LarkIntegration, owner: factories.Persona
) -> None:
    me = owner.member
    factories.incident(owner.account, "CPU high", assignees=[me])
    closed = factories.incident(owner.account, "Disk was full", assignees=[me])
    incidents.resolve(closed, Actor(me, Source.WEB))
    page = web.get(_url(lark) + "?status=closed").get_data(as_text=True)
    assert "Disk was full" in page
    assert "CPU high" not in page
    assert 'name="status" value="closed" form="incident-filters"' in page


def test_search_finds_by_title_and_by_number(
    web: FlaskClient, lark: LarkIntegration, owner: factories.Persona
) -> None:
    me = owner.member
    disk = factories.incident(owner.account, "Disk full on db-01", assignees=[me])
    factories.incident(owner.account, "CPU high", assignees=[me])
    by_words = web.get(_url(lark) + "?q=disk", headers=HX).get_data(as_text=True)
    assert "Disk full on db-01" in by_words
    assert "CPU high" not in by_words
    by_number = web.get(_url(lark) + f"?q=%23{disk.number}", headers=HX).get_data(as_text=True)
    assert "Disk full on db-01" in by_number
    nothing = web.get(_url(lark) + "?q=kafka", headers=HX).get_data(as_text=True)
    assert "No incident matches “kafka”." in nothing


def test_htmx_gets_the_list_region_and_every_answer_varies_on_it(
    web: FlaskClient, lark: LarkIntegration, owner: factories.Persona
) -> None:
    factories.incident(owner.account, "CPU high", assignees=[owner.member])
    fragment = web.get(_url(lark), headers=HX)
    page = web.get(_url(lark))
    assert fragment.get_data(as_text=True).lstrip().startswith('<div id="incident-list"')
    assert "<html" not in fragment.get_data(as_text=True)
    assert "<html" in page.get_data(as_text=True)
    assert "HX-Request" in fragment.headers["Vary"]
    assert "HX-Request" in page.headers["Vary"]
    restore = web.get(_url(lark), headers={**HX, "HX-History-Restore-Request": "true"})
    assert "<html" in restore.get_data(as_text=True)


def test_load_more_appends_the_next_rows_after_the_cursor(
    web: FlaskClient, lark: LarkIntegration, owner: factories.Persona
) -> None:
    me = owner.member
    many(owner.account, 53, [me])
    first = web.get(_url(lark)).get_data(as_text=True)
    assert first.count('class="inc-row"') == 50
    assert "Incident number 2<" not in first
    link = first.split('hx-target="#incident-more"')[0].rsplit('hx-get="', 1)[1].split('"')[0]
    more = web.get(link.replace("&amp;", "&"), headers=HX).get_data(as_text=True)
    assert more.lstrip().startswith('<tr id="incident-')
    assert more.count('class="inc-row"') == 3
    assert "Incident number 0<" in more
    assert 'id="incident-shown" name="shown" value="53"' in more
    assert "Load more" not in more
    refreshed = web.get(_url(lark) + "?shown=53", headers=HX).get_data(as_text=True)
    assert refreshed.count('class="inc-row"') == 53


def test_the_list_refreshes_itself_only_while_visible(
    web: FlaskClient, lark: LarkIntegration
) -> None:
    fragment = web.get(_url(lark), headers=HX).get_data(as_text=True)
    assert "every 15s [document.visibilityState === 'visible']" in fragment
    assert 'id="incident-filters"' not in fragment


def test_empty_states_say_what_to_do(web: FlaskClient, lark: LarkIntegration) -> None:
    page = web.get(_url(lark)).get_data(as_text=True)
    assert "Nothing needs you right now." in page
    assert "See every incident you may see" in page
    closed = web.get(_url(lark) + "?status=closed").get_data(as_text=True)
    assert "Reset the filters" in closed


def test_a_list_request_runs_the_same_few_statements_for_5_or_50_rows(
    web: FlaskClient, lark: LarkIntegration, owner: factories.Persona
) -> None:
    ch = factories.channel(owner.account, [owner.member])
    others = [factories.persona("member", account=owner.account).member for _ in range(3)]

    def statements() -> int:
        with _counting() as seen:
            assert web.get(_url(lark), headers=HX).status_code == 200
        return len(seen)

    for made in many(owner.account, 5, [owner.member, others[0]], title="i"):
        made.channel_id = ch.id
    db.session.commit()
    few = statements()
    for made in many(owner.account, 45, [owner.member, others[1], others[2]], title="j"):
        made.channel_id = ch.id
    db.session.commit()
    fifty = statements()
    print("statements per list request:", fifty)
    assert few == fifty
    assert fifty <= 8, fifty


@contextmanager
def _counting() -> Iterator[list[str]]:
    seen: list[str] = []

    def count(*args: object) -> None:
        seen.append(str(args[2]))

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


# -- detail -----------------------------------------------------------------------------


def test_the_detail_shows_people_labels_alerts_and_the_timeline(
    web: FlaskClient, lark: LarkIntegration, owner: factories.Persona
) -> None:
    me = owner.member
    incident = factories.incident(
        owner.account, "Disk full", assignees=[me], labels={"host": "db-01"}
    )
    incidents.acknowledge(incident, Actor(me, Source.CARD))
    incidents.comment(incident, Actor(me, Source.WEB), "Looking at it")
    page = web.get(_url(lark, f"/{incident.number}")).get_data(as_text=True)
    assert "host=db-01" in page
    assert "Looking at it" in page
    assert "via Lark card" in page
    assert "via web" in page
    assert "via API" in page
    assert ">Acknowledged</span>" in page


# -- actions ----------------------------------------------------------------------------


def test_acknowledging_a_row_swaps_in_the_row_with_a_toast(
    web: FlaskClient, lark: LarkIntegration, owner: factories.Persona
) -> None:
    incident = factories.incident(owner.account, "CPU high", assignees=[owner.member])
    status, body, headers = _act(web, lark, incident, "acknowledge", region="row")
    assert status == 200
    assert body.lstrip().startswith(f'<tr id="incident-{incident.number}"')
    assert ">Acknowledged</span>" in body
    assert json.loads(headers["HX-Trigger"])["incidents-changed"] is True
    assert _toast(headers) == {
        "message": f"Incident #{incident.number} acknowledged.",
        "kind": "success",
    }
    fresh = _fresh(incident)
    assert fresh.status is Status.PROCESSING
    assert fresh.events[-1].source is Source.WEB


def test_snoozing_from_the_detail_shows_it_snoozed(
    web: FlaskClient, lark: LarkIntegration, owner: factories.Persona
) -> None:
    incident = factories.incident(owner.account, "CPU high", assignees=[owner.member])
    status, body, _headers = _act(web, lark, incident, "snooze", region="detail", minutes="120")
    assert status == 200
    assert body.lstrip().startswith('<article id="incident-detail"')
    assert "Snoozed" in body
    assert "for 120 minutes" in body
    assert _fresh(incident).snoozed_until is not None


def test_a_stale_action_shows_the_current_state_and_why(
    web: FlaskClient, lark: LarkIntegration, owner: factories.Persona, member: factories.Persona
) -> None:
    incident = factories.incident(owner.account, "CPU high", assignees=[owner.member])
    seen = incident.version
    incidents.acknowledge(incident, Actor(member.member, Source.CARD))
    data = {"csrf_token": _token(web, lark), "version": str(seen), "region": "row"}
    response = web.post(_url(lark, f"/{incident.number}/resolve"), data=data, headers=HX)
    assert response.status_code == 409
    body = response.get_data(as_text=True)
    assert ">Acknowledged</span>" in body
    toast = _toast(dict(response.headers))
    assert toast["kind"] == "warning"
    assert member.member.name in toast["message"]
    assert _fresh(incident).status is Status.PROCESSING


def test_an_invalid_transition_is_refused_with_the_current_state(
    web: FlaskClient, lark: LarkIntegration, owner: factories.Persona, member: factories.Persona
) -> None:
    incident = factories.incident(owner.account, "CPU high", assignees=[owner.member])
    incidents.acknowledge(incident, Actor(member.member, Source.CARD))
    status, body, headers = _act(web, lark, _fresh(incident), "acknowledge", region="row")
    assert status == 409
    assert "Already acknowledged by" in _toast(headers)["message"]
    assert ">Acknowledged</span>" in body


def test_a_member_without_a_seat_is_told_and_nothing_changes(
    client: FlaskClient, lark: LarkIntegration, owner: factories.Persona
) -> None:
    seatless = factories.persona("member", account=owner.account, seat=False)
    enter(client, seatless, lark)
    incident = factories.incident(owner.account, "CPU high", assignees=[seatless.member])
    status, body, headers = _act(client, lark, incident, "acknowledge", region="row")
    assert status == 403
    assert "license seat" in _toast(headers)["message"]
    assert "Triggered" in body
    assert _fresh(incident).status is Status.TRIGGERED


def test_reassigning_and_commenting_from_the_detail(
    web: FlaskClient, lark: LarkIntegration, owner: factories.Persona, member: factories.Persona
) -> None:
    incident = factories.incident(owner.account, "CPU high", assignees=[owner.member])
    status, body, _h = _act(
        web, lark, incident, "reassign", region="detail", member_id=str(member.member.id)
    )
    assert status == 200
    assert f"to {member.member.name}" in body
    status, body, _h = _act(
        web, lark, _fresh(incident), "comment", region="detail", text="<b>bold</b> move"
    )
    assert status == 200
    assert "&lt;b&gt;bold&lt;/b&gt; move" in body
    assert [m.id for m in _fresh(incident).assignees] == [member.member.id]


def test_reassigning_to_a_member_of_another_account_changes_nothing(
    web: FlaskClient, lark: LarkIntegration, owner: factories.Persona, outsider: factories.Persona
) -> None:
    incident = factories.incident(owner.account, "CPU high", assignees=[owner.member])
    status, _body, _h = _act(
        web, lark, incident, "reassign", region="detail", member_id=str(outsider.member.id)
    )
    assert status == 409
    assert [m.id for m in _fresh(incident).assignees] == [owner.member.id]


def test_bulk_acknowledge_acts_on_the_selected_rows(
    web: FlaskClient, lark: LarkIntegration, owner: factories.Persona
) -> None:
    me = owner.member
    a = factories.incident(owner.account, "a", assignees=[me])
    b = factories.incident(owner.account, "b", assignees=[me])
    c = factories.incident(owner.account, "c", assignees=[me])
    data = {
        "csrf_token": _token(web, lark),
        "action": "acknowledge",
        "ids": [f"{a.number}:{a.version}", f"{b.number}:{b.version}"],
    }
    response = web.post(_url(lark, "/bulk"), data=data, headers=HX)
    assert response.status_code == 200
    assert response.get_data(as_text=True).lstrip().startswith('<div id="incident-list"')
    assert _toast(dict(response.headers))["message"] == "2 incidents acknowledged."
    assert [_fresh(i).status for i in (a, b, c)] == [
        Status.PROCESSING,
        Status.PROCESSING,
        Status.TRIGGERED,
    ]


# -- without JavaScript -----------------------------------------------------------------


def test_without_javascript_an_action_redirects_back_with_a_message(
    web: FlaskClient, lark: LarkIntegration, owner: factories.Persona
) -> None:
    incident = factories.incident(owner.account, "CPU high", assignees=[owner.member])
    back = _url(lark) + "?status=open"
    status, _body, headers = _act(
        web, lark, incident, "acknowledge", htmx=False, region="row", next=back
    )
    assert status == 303
    assert headers["Location"].endswith(back)
    page = web.get(back).get_data(as_text=True)
    assert f"Incident #{incident.number} acknowledged." in page
    assert _fresh(incident).status is Status.PROCESSING


def test_without_javascript_bulk_and_load_more_are_plain_links_and_forms(
    web: FlaskClient, lark: LarkIntegration, owner: factories.Persona
) -> None:
    me = owner.member
    made = many(owner.account, 51, [me])
    page = web.get(_url(lark)).get_data(as_text=True)
    assert 'method="post" action="/lark/' in page
    link = page.split(">Load more<")[0].rsplit('href="', 1)[1].split('"')[0]
    older = web.get(link.replace("&amp;", "&")).get_data(as_text=True)
    assert "<html" in older
    assert f'id="incident-{made[0].number}"' in older
    data = {"csrf_token": csrf_from(page), "action": "resolve", "ids": [f"{made[0].number}:1"]}
    response = web.post(_url(lark, "/bulk"), data=data)
    assert response.status_code == 303
    assert _fresh(made[0]).status is Status.CLOSED


# -- safety -----------------------------------------------------------------------------


def test_another_accounts_incident_is_not_found(
    web: FlaskClient, lark: LarkIntegration, owner: factories.Persona, outsider: factories.Persona
) -> None:
    factories.incident(outsider.account, "theirs 1")
    theirs = factories.incident(outsider.account, "theirs 2", assignees=[outsider.member])
    assert web.get(_url(lark, f"/{theirs.number}")).status_code == 404
    data = {"csrf_token": _token(web, lark), "version": "1", "region": "row"}
    assert web.post(_url(lark, f"/{theirs.number}/resolve"), data=data).status_code == 404
    bulk = {"csrf_token": data["csrf_token"], "action": "resolve", "ids": [f"{theirs.number}:1"]}
    web.post(_url(lark, "/bulk"), data=bulk)
    assert _fresh(theirs).status is Status.TRIGGERED


def test_a_member_cannot_open_an_incident_of_a_channel_they_are_not_in(
    client: FlaskClient, lark: LarkIntegration, owner: factories.Persona, member: factories.Persona
) -> None:
    enter(client, member, lark)
    private = factories.channel(owner.account, [owner.member])
    hidden = factories.incident(owner.account, "Payroll is down", ch=private)
    assert client.get(_url(lark, f"/{hidden.number}")).status_code == 404
    everything = client.get(_url(lark) + "?scope=all").get_data(as_text=True)
    assert "Payroll is down" not in everything


def test_titles_are_escaped_everywhere(
    web: FlaskClient, lark: LarkIntegration, owner: factories.Persona
) -> None:
    evil = "<script>alert(1)</script>"
    incident = factories.incident(owner.account, evil, assignees=[owner.member])
    source = factories.alert_source(owner.account)
    from webapp.models import Alert, AlertStatus, Severity, utcnow

    db.session.add(
        Alert(
            incident_id=incident.id,
            source_id=source.id,
            dedup_key="x",
            title=evil,
            severity=Severity.CRITICAL,
            status=AlertStatus.FIRING,
            starts_at=utcnow(),
        )
    )
    db.session.commit()
    for path in (_url(lark), _url(lark, f"/{incident.number}")):
        body = web.get(path).get_data(as_text=True)
        assert evil not in body
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


def test_an_action_without_the_csrf_token_is_refused_and_changes_nothing(
    web: FlaskClient, lark: LarkIntegration, owner: factories.Persona
) -> None:
    incident = factories.incident(owner.account, "CPU high", assignees=[owner.member])
    data = {"version": str(incident.version), "region": "row"}
    response = web.post(_url(lark, f"/{incident.number}/acknowledge"), data=data, headers=HX)
    assert response.status_code == 400
    assert _fresh(incident).status is Status.TRIGGERED
    assert db.session.query(IncidentEvent).filter_by(kind="acknowledged").count() == 0


def test_signed_out_visitors_are_sent_to_sign_in(
    client: FlaskClient, lark: LarkIntegration
) -> None:
    response = client.get(_url(lark))
    assert response.status_code in (302, 303)
    fragment = client.get(_url(lark), headers=HX)
    assert "HX-Redirect" in fragment.headers


def test_the_rows_more_menu_offers_snooze_and_reassign(
    web: FlaskClient, lark: LarkIntegration, owner: factories.Persona, member: factories.Persona
) -> None:
    incident = factories.incident(owner.account, "CPU high", assignees=[owner.member])
    menu = web.get(_url(lark, f"/{incident.number}/menu"), headers=HX).get_data(as_text=True)
    assert 'name="minutes"' in menu
    assert member.member.name in menu
    assert 'value="row"' in menu
    plain = web.get(_url(lark, f"/{incident.number}/menu"))
    assert plain.status_code == 303


def test_reopening_and_unsnoozing_from_the_detail(
    web: FlaskClient, lark: LarkIntegration, owner: factories.Persona
) -> None:
    me = owner.member
    incident = incidents.resolve(
        factories.incident(owner.account, "CPU", assignees=[me]), Actor(me, Source.CARD)
    )
    status, body, _h = _act(web, lark, _fresh(incident), "reopen", region="detail")
    assert status == 200
    assert "Triggered" in body
    incidents.snooze(_fresh(incident), Actor(me, Source.CARD), 30)
    status, body, _h = _act(web, lark, _fresh(incident), "unsnooze", region="detail")
    assert status == 200
    assert _fresh(incident).snoozed_until is None
    assert web.post(_url(lark, f"/{incident.number}/explode"), data={}).status_code in (400, 404)


def test_the_detail_offers_a_war_room_and_asking_shows_it_on_its_way(
    web: FlaskClient, lark: LarkIntegration, owner: factories.Persona
) -> None:
    incident = factories.incident(owner.account, "Disk full", assignees=[owner.member])
    page = web.get(_url(lark, f"/{incident.number}")).get_data(as_text=True)
    assert "Open a war room in Lark" in page
    answer = web.post(
        _url(lark, f"/{incident.number}/war-room"),
        headers={"HX-Request": "true", "X-CSRFToken": csrf_from(page)},
    )
    assert answer.status_code == 200
    assert "is being created in Lark" in answer.get_data(as_text=True)
    again = web.get(_url(lark, f"/{incident.number}")).get_data(as_text=True)
    assert "Open a war room in Lark" not in again
    assert f"[#{incident.number}] Disk full" in again


def test_the_timeline_says_whom_a_notification_reached(
    web: FlaskClient, lark: LarkIntegration, owner: factories.Persona
) -> None:
    incident = factories.incident(owner.account, "Disk full")
    incidents.record(incident, Actor.system(), "notified", {"target": "值班群", "layer": 0})
    db.session.commit()
    page = web.get(_url(lark, f"/{incident.number}")).get_data(as_text=True)
    assert "to 值班群" in page
