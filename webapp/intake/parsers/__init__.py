"""The tools that post alerts, one module each, and the one table of them.

Adding a tool is one module here (its `parse`, its `EXAMPLE` body and, when its shape is
unmistakable, `recognises`) and one row in TOOLS. A row's kind is what an admin picks for a
source (`AlertSource.kind`), in the order the admin page lists them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from webapp.intake.alert import ParsedAlert
from webapp.intake.parsers import alertmanager, generic, grafana, nightingale, zabbix


@dataclass(frozen=True)
class Tool:
    label: str
    parse: Callable[[Any], list[ParsedAlert]]
    example: dict[str, Any]
    # True when its own shape says which tool sent a body: a generic or Alertmanager intake
    # then reads the body with this tool's parser.
    recognises: Callable[[dict[str, Any]], bool] | None = None
    # Generic and Alertmanager intakes read every shape a row recognises.
    reads_any: bool = False
    # Checked before reading: refuses bodies this tool never sends.
    require: Callable[[Any], None] | None = None


TOOLS: dict[str, Tool] = {
    "alertmanager": Tool("Alertmanager", alertmanager.parse, alertmanager.EXAMPLE, reads_any=True),
    "grafana": Tool(
        "Grafana",
        alertmanager.parse,
        grafana.EXAMPLE,
        reads_any=True,
        require=grafana.require_webhook,
    ),
    "zabbix": Tool("Zabbix", zabbix.parse, zabbix.EXAMPLE, recognises=zabbix.recognises),
    "nightingale": Tool(
        "Nightingale", nightingale.parse, nightingale.EXAMPLE, recognises=nightingale.recognises
    ),
    "generic": Tool("Generic JSON", generic.parse, generic.EXAMPLE, reads_any=True),
}

# The kinds of intake an admin can pick, and their names.
KINDS: dict[str, str] = {kind: tool.label for kind, tool in TOOLS.items()}


def parse_for(kind: str, body: Any) -> list[ParsedAlert]:
    """Read a body as the source's kind says; generic and Alertmanager read any known shape."""
    tool = TOOLS.get(kind, TOOLS["generic"])
    if tool.require is not None:
        tool.require(body)
    if not tool.reads_any or not isinstance(body, dict):
        return tool.parse(body)
    for other in TOOLS.values():
        if other.recognises is not None and other.recognises(body):
            return other.parse(body)
    if alertmanager.recognises(body):
        return alertmanager.parse(body)
    return generic.parse(body)
