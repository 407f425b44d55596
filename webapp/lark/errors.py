"""Lark's failures, classified once: every caller reads `reason`, `permanent` and `retry_after`.

The taxonomy (one table, below) is what the outbox, the diagnostics page and the incident
timeline speak. Codes come from /work/shared/lark/open-api.md sections 2, 3 and 6.
"""

from __future__ import annotations

from flask_babel import gettext as _

# reason -> the Lark codes that mean it. A code appears once.
REASONS: dict[str, frozenset[int]] = {
    # 230029 resigned and 230053 "user stopped the bot" look the same to the person: not reachable.
    "not_linked": frozenset({230013, 230029, 230053}),
    "bot_not_in_chat": frozenset({230002, 232011}),
    "chat_gone": frozenset({232009, 232006}),
    # 232024 outside the availability range, 232043 cannot be added (resigned...), 232022
    # resigned (create chat), 99992351 unknown id: Lark's chat and chat-member pages.
    "members_refused": frozenset({232022, 232024, 232043, 99992351}),
    "bot_disabled": frozenset({232025}),
    "app_not_installed": frozenset({232034}),
    "no_permission": frozenset({99991672, 99991676, 99991679, 230027, 230035, 232014, 99991401}),
    "bad_credentials": frozenset(
        {
            10014,
            10015,
            99991543,
            99991661,
            99991662,
            99991663,
            99991664,
            99991665,
            99991671,
            99991673,
        }
    ),
    "rate_limited": frozenset({99991400, 230020, 232019}),
    "quota": frozenset({99991403}),
    "invalid_request": frozenset(
        {232001, 230001, 230006, 230018, 230022, 230028, 230034, 230038, 230054, 99992355, 99992356}
        | {99992361}
    ),
    "card_invalid": frozenset({230099, 230025, 11310, 11311, 10002, 100000, 100030, 200830}),
    "message_too_old": frozenset({230031, 230011, 230110, 200000}),
    "token_expired": frozenset({300020, 300030, 300040}),
    "server": frozenset({20050, 230049}),
}
_BY_CODE = {code: reason for reason, codes in REASONS.items() for code in codes}

# Waiting helps for these; everything else needs a person to change something first.
# `quota` counts as permanent: retrying does not help until the 1st of next month.
TRANSIENT = frozenset({"rate_limited", "server", "network"})

# Lark's token-invalid answers: drop the cached tenant token and retry the call once.
TOKEN_INVALID_CODES = frozenset({99991663, 99991664, 99991671})

# No code of our own is ever 0; these mark failures that never reached Lark's JSON.
NETWORK_CODE = -1
BAD_ANSWER_CODE = -2


class LarkError(Exception):
    """A failed Lark call. `str(error)` is for logs; `fix(error.reason)` is for people."""

    def __init__(
        self,
        code: int,
        msg: str,
        *,
        http_status: int | None = None,
        retry_after: float | None = None,
        reason: str | None = None,
        path: str = "",
    ) -> None:
        self.code = code
        self.msg = msg
        self.http_status = http_status
        self.reason = reason or classify(code, http_status)
        self.permanent = self.reason not in TRANSIENT
        self.retry_after = retry_after
        self.path = path
        super().__init__(f"Lark {path or 'call'} failed: {code} {msg} (HTTP {http_status})")


def classify(code: int, http_status: int | None) -> str:
    """The reason for a Lark code; unknown codes fall back on the HTTP status."""
    if code == NETWORK_CODE:
        return "network"
    if code in _BY_CODE:
        return _BY_CODE[code]
    if http_status == 429:
        return "rate_limited"
    if http_status is not None and http_status >= 500:
        return "server"
    # An unknown code on a 2xx/4xx answer: retrying the same request will not help.
    return "invalid_request"


def fix(reason: str) -> str:
    """What a person should do about `reason`, in the current locale."""
    texts = {
        "not_linked": _(
            "The person is outside the Lark app's availability range, has left, or blocked the "
            "bot (未关联应用). Add them to the app's availability range in the Lark admin "
            "console and publish a new version."
        ),
        "bot_not_in_chat": _("The bot is not in this group chat. Add the bot to the chat."),
        "chat_gone": _("The group chat was dissolved. Choose another chat in the dispatch policy."),
        "no_permission": _(
            "The Lark app lacks a permission (scope). Add it in the developer console, publish "
            "a new version and have the tenant admin approve it."
        ),
        "bad_credentials": _(
            "Lark refused the App ID or App Secret. Copy them again from the developer console "
            "into the integration settings."
        ),
        "members_refused": _(
            "Lark refused some people for the chat: they are outside the app's availability "
            "range, have resigned, or are unknown. Add them to the availability range in the "
            "Lark admin console, or remove them from the responders."
        ),
        "bot_disabled": _(
            "The Lark app's bot capability is off. Turn on Bot in the developer console "
            "(Features) and publish a new version."
        ),
        "app_not_installed": _(
            "The Lark app is not installed in this tenant. Have the tenant admin install "
            "(enable) it in the Lark admin console."
        ),
        "rate_limited": _("Lark's rate limit was hit. Messages are retried automatically."),
        "quota": _(
            "The free edition's monthly API quota is used up (99991403). Upgrade the Lark "
            "plan; until the quota resets on the 1st, incident notifications go out by e-mail "
            "(when SMTP_URL is set) and other messages wait."
        ),
        "invalid_request": _(
            "Lark refused the request as invalid. See the error code for details."
        ),
        "card_invalid": _("Lark refused the card content (too large or malformed)."),
        "message_too_old": _(
            "The card message can no longer be updated (older than 14 days, recalled or deleted)."
        ),
        "token_expired": _("The card's update token expired; the card is updated another way."),
        "server": _("Lark had a temporary error. It is retried automatically."),
        "network": _("Lark could not be reached (timeout or connection error). It is retried."),
    }
    return texts.get(reason, _("Unknown Lark error."))
