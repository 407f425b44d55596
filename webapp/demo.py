"""`flask demo load`: a demo account with people, a channel and incidents in every state.

Idempotent: a second run finds the account and only adds what is missing.
"""

from __future__ import annotations

import random
from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from webapp.extensions import db
from webapp.identity import bindings
from webapp.incidents import service as incidents
from webapp.incidents.service import Actor
from webapp.intake.parsers import KINDS
from webapp.models import (
    Account,
    AlertSource,
    Channel,
    DispatchRule,
    Edition,
    Incident,
    LarkBinding,
    LarkIntegration,
    Member,
    NoiseRules,
    Platform,
    Role,
    Schedule,
    Severity,
    Source,
    Team,
    TokenScope,
    utcnow,
)
from webapp.paging import rules as paging_rules
from webapp.sandbox import seed, state, url_check
from webapp.schedules import demo as schedules_demo
from webapp.tokens import service as tokens

DEMO_ACCOUNT = "Acme Demo"
DEMO_PASSWORD = "oncall-demo"  # noqa: S105 - a published demo login, not a secret
ALERT_KEY = "demo-alerts-7f3c9a"
DEMO_TOKEN_NAME = "Demo (curl)"  # noqa: S105 - a name, not a secret
PEOPLE = [
    ("Li Lei", "li.lei@example.com", "+8613800000001", Role.OWNER, True),
    ("Han Meimei", "han.meimei@example.com", "+8613800000002", Role.MEMBER, True),
    ("Wang Fang", "wang.fang@example.com", "+8613800000003", Role.MEMBER, False),
    ("Zhang Wei", "zhang.wei@example.com", "+8613800000004", Role.ADMIN, True),
]
TITLES = [
    "db-01: replication lag above 30s",
    "api-gateway: 5xx rate 4.2% (threshold 1%)",
    "payments: p99 latency 2.4s",
    "kafka-3: disk 91% full",
    "k8s node cn-north-7 NotReady",
    "checkout: error budget burn rate 14x",
    "redis-cache: evictions spiking",
    "search: index lag 12 minutes",
    "cdn: origin fetch failures in eu-west",
    "cron backup-nightly did not run",
]


def load() -> list[str]:
    account = db.session.execute(
        select(Account).where(Account.name == DEMO_ACCOUNT)
    ).scalar_one_or_none()
    if account is None:
        account = Account(name=DEMO_ACCOUNT, seats_allowed=3)
        db.session.add(account)
        db.session.flush()
    members = [_member(account, *person) for person in PEOPLE]
    channel = _channel(account, members)
    _noise_rules(channel)
    _team(account, members)
    sources = _alert_sources(account, channel)
    db.session.commit()
    if not db.session.execute(
        select(Incident.id).where(Incident.account_id == account.id).limit(1)
    ).first():
        _incidents(account, channel, members)
    lines = [
        f"demo account: {account.name}",
        f"sign in as {members[0].email} / {DEMO_PASSWORD} (owner)",
    ]
    base = current_app.config["PUBLIC_BASE_URL"]
    lines.extend(f"{KINDS[s.kind]} alert intake: {base}/api/v1/alerts/{s.key}" for s in sources)
    lines.append(schedules_demo.load(account, members))
    lines.extend(_api_token(account, members[0]))
    if current_app.config["LARK_SANDBOX"]:
        lines.extend(_lark_demo(account, channel))
    return lines


def _api_token(account: Account, owner: Member) -> list[str]:
    """The demo's write token, derived from SECRET_KEY: the same on every `make run` (whose
    SECRET_KEY is fixed), so the README can say where to find it, and nothing to decrypt."""
    secret = tokens.derived_secret(current_app.config["SECRET_KEY"], "demo API token")
    token = tokens.find_by_secret(secret)
    if token is None:
        tokens.create(account.id, DEMO_TOKEN_NAME, TokenScope.WRITE, None, owner, secret=secret)
    elif token.revoked_at is not None:
        return ["demo API token: revoked; make a new one on /admin/tokens/"]
    base = current_app.config["PUBLIC_BASE_URL"]
    return [
        f"demo API token (read and write): {secret}",
        f"  try: curl -H 'Authorization: Bearer {secret}' {base}/api/v1/incidents",
        f"  reference: {base}/api/v1/docs",
        f"Alertmanager silence API (amtool, Grafana): {base}/alertmanager",
        f"  try: printf 'authorization:\\n  type: Bearer\\n  credentials: {secret}\\n' > am.yml",
        f"       amtool --alertmanager.url={base}/alertmanager --http.config.file=am.yml"
        " silence add alertname=DiskFull --duration=2h -c 'db switchover'",
    ]


def _lark_demo(account: Account, channel: Channel) -> list[str]:
    """A Lark integration wired to the sandbox's seeded app, and a dispatch rule using it."""
    integration = db.session.execute(
        select(LarkIntegration).where(LarkIntegration.key == seed.DEMO_INTEGRATION_KEY)
    ).scalar_one_or_none()
    base = current_app.config["PUBLIC_BASE_URL"]
    if integration is None:
        integration = LarkIntegration(
            account_id=account.id,
            key=seed.DEMO_INTEGRATION_KEY,
            name="Lark (sandbox)",
            app_id=seed.DEMO_APP_ID,
            platform=Platform.FEISHU,
            edition=Edition.FREE,
            api_base_url=f"{base}/_lark",
        )
        integration.app_secret = seed.DEMO_APP_SECRET
        integration.verification_token = seed.DEMO_VERIFICATION_TOKEN
        integration.encrypt_key = seed.DEMO_ENCRYPT_KEY
        db.session.add(integration)
        db.session.flush()
    if not db.session.execute(
        select(DispatchRule.id).where(DispatchRule.channel_id == channel.id).limit(1)
    ).first():
        db.session.add(_critical_rule(account, channel, integration))
        db.session.add(
            DispatchRule(
                channel_id=channel.id,
                integration_id=integration.id,
                position=1,
                name="Everything to the on-call chat and the assignees",
                layers=[
                    {
                        "delay_minutes": 0,
                        "assignees": True,
                        "chat_ids": [seed.ONCALL_CHAT.chat_id],
                        "chat_names": {seed.ONCALL_CHAT.chat_id: seed.ONCALL_CHAT.name},
                    },
                    _on_call_layer(account),
                ],
            )
        )
    _link_people(integration, account)
    _paging_defaults(account)
    db.session.commit()
    return [f"Lark web app homepage (网页配置 URL): {base}/lark/{integration.key}/"]


def _critical_rule(
    account: Account, channel: Channel, integration: LarkIntegration
) -> DispatchRule:
    """Critical incidents reach whoever is on call at once (and so buzz them, by the default
    rules), with the on-call chat; the admin hears of it after 10 minutes unacknowledged."""
    admin = db.session.scalars(
        select(Member).where(Member.account_id == account.id, Member.role == Role.ADMIN)
    ).first()
    return DispatchRule(
        channel_id=channel.id,
        integration_id=integration.id,
        position=0,
        name="Critical: whoever is on call, at once",
        severities=[Severity.CRITICAL.value],
        layers=[
            {
                **_on_call_layer(account),
                "delay_minutes": 0,
                "assignees": True,
                "chat_ids": [seed.ONCALL_CHAT.chat_id],
                "chat_names": {seed.ONCALL_CHAT.chat_id: seed.ONCALL_CHAT.name},
            },
            {"delay_minutes": 10, "member_ids": [admin.id] if admin else []},
        ],
    )


def _link_people(integration: LarkIntegration, account: Account) -> None:
    """Each demo member linked to the sandbox's Lark user with the same e-mail, as the
    integration page's one-click "link members" does (method "bulk")."""
    users = {user.email: user for user in seed.USERS}
    for member in account.members:
        user = users.get(member.email)
        if user is None or bindings.binding_of(integration, member) is not None:
            continue
        db.session.add(
            LarkBinding(
                integration_id=integration.id,
                member_id=member.id,
                open_id=user.open_id,
                tenant_key=seed.TENANT_KEY,
                lark_name=user.name,
                method="bulk",
            )
        )


def _paging_defaults(account: Account) -> None:
    """The account's default notification rules: the starting ladder, written out so the
    admin's Paging page shows them as the account's own."""
    if paging_rules.account_ladders(account.id)["Critical"].source == "account":
        return
    for severity, ladder in paging_rules.BUILT_IN.items():
        window = (ladder.quiet_start, ladder.quiet_end)
        paging_rules.save(account.id, None, severity, list(ladder.steps), ladder.quiet, window)


def _on_call_layer(account: Account) -> dict[str, object]:
    """The rule's second layer: whoever is on call in the demo schedule, after 10 minutes."""
    schedule = db.session.scalars(
        select(Schedule).where(
            Schedule.account_id == account.id, Schedule.name == schedules_demo.NAME
        )
    ).one()
    return {
        "delay_minutes": 10,
        "schedule_ids": [schedule.id],
        "schedule_names": {str(schedule.id): schedule.name},
    }


def _member(account: Account, name: str, email: str, phone: str, role: Role, seat: bool) -> Member:
    member = db.session.execute(select(Member).where(Member.email == email)).scalar_one_or_none()
    if member is None:
        member = Member(
            account=account, name=name, email=email, phone=phone, role=role, has_seat=seat
        )
        member.set_password(DEMO_PASSWORD)
        db.session.add(member)
    return member


def _channel(account: Account, members: list[Member]) -> Channel:
    channel = db.session.execute(
        select(Channel).where(Channel.account_id == account.id, Channel.name == "Core Platform")
    ).scalar_one_or_none()
    if channel is None:
        channel = Channel(
            account_id=account.id,
            name="Core Platform",
            description="Databases, gateways and the payment path",
            members=list(members),
        )
        db.session.add(channel)
    return channel


def _noise_rules(channel: Channel) -> None:
    """One incident per problem: group by alertname and service over 30 minutes, and close
    an incident when all its alerts have recovered."""
    db.session.flush()
    if db.session.execute(select(NoiseRules.id).where(NoiseRules.channel_id == channel.id)).first():
        return
    db.session.add(
        NoiseRules(
            channel_id=channel.id,
            group_by=["alertname", "service"],
            group_window_minutes=30,
            close_when_recovered=True,
            storm_thresholds=[10, 100, 1000],
        )
    )


def _team(account: Account, members: list[Member]) -> None:
    exists = db.session.execute(
        select(Team).where(Team.account_id == account.id, Team.name == "SRE")
    ).scalar_one_or_none()
    if exists is None:
        db.session.add(Team(account_id=account.id, name="SRE", members=members[:2]))


# One intake per kind of source; the first keeps the key older demos printed.
DEMO_SOURCES = [
    ("alertmanager", "Prometheus", ALERT_KEY),
    ("grafana", "Grafana", "demo-grafana-2b8d41"),
    ("zabbix", "Zabbix", "demo-zabbix-5e1a07"),
    ("nightingale", "Nightingale", "demo-n9e-9c4f62"),
    ("generic", "Scripts (generic JSON)", "demo-generic-3d7b15"),
]


def _alert_sources(account: Account, channel: Channel) -> list[AlertSource]:
    db.session.flush()
    sources = []
    for kind, name, key in DEMO_SOURCES:
        source = db.session.execute(
            select(AlertSource).where(AlertSource.key == key)
        ).scalar_one_or_none()
        if source is None:
            source = AlertSource(
                account_id=account.id, channel_id=channel.id, name=name, key=key, kind=kind
            )
            db.session.add(source)
        sources.append(source)
    return sources


def _incidents(account: Account, channel: Channel, members: list[Member]) -> None:
    """Thirty incidents spread over the last week, walked through the service verbs."""
    rng = random.Random(7)  # noqa: S311 - the same demo every time, not security
    severities = [Severity.CRITICAL, Severity.WARNING, Severity.INFO]
    for i in range(30):
        title = TITLES[i % len(TITLES)]
        incident = incidents.open_incident(
            account.id,
            title=title,
            severity=severities[i % 3],
            description=f"Seen by Prometheus rule #{100 + i}.",
            channel_id=channel.id,
            labels={"service": title.split(":")[0].split(" ")[0], "env": "prod"},
            dedup_key=f"demo-{i}",
            actor=Actor.api(),
            assignees=[members[i % 2]],
        )
        incident.created_at = utcnow() - timedelta(hours=rng.randint(1, 160))
        for event in incident.events:  # the timeline's "triggered" is the same moment
            event.created_at = incident.created_at
        db.session.commit()
        person = Actor(members[(i + 1) % 2], Source.WEB if i % 2 else Source.CARD)
        step = i % 5
        if step >= 1:
            incidents.acknowledge(incident, person)
        if step == 2:
            incidents.comment(incident, person, "Looking at the dashboards now.")
        if step == 3:
            incidents.resolve(incident, person)
        if step == 4:
            incidents.snooze(incident, person, 240)


def verify_card_url() -> tuple[bool, str]:
    """Lark verifies a card request URL when it is saved in the developer console (the
    url_verification handshake). The sandbox's seeded app starts with ours filled in, as if
    pasted, so the running demo saves it once: the sandbox posts a real challenge to our card
    URL and our answer records the evidence the diagnostics read. Needs the server up."""
    sandbox = state.get()
    url = sandbox.apps[seed.DEMO_APP_ID].card_request_url
    return url_check.verify_url(sandbox, seed.DEMO_APP_ID, url)
