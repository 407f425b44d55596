"""Lark's failures, classified once: every caller reads `reason`, `permanent` and `retry_after`.

The taxonomy (one table, below) is what the outbox, the diagnostics page and the incident
timeline speak. Codes and their meaning: docs/lark/open-api.md#error-codes.
"""

from __future__ import annotations

from flask_babel import gettext as _

from webapp.models import FailureReason

# reason -> the Lark codes that mean it. A code appears once.
REASONS: dict[FailureReason, frozenset[int]] = {
    # 230029 resigned and 230053 "user stopped the bot" look the same to the person: not reachable.
    FailureReason.NOT_LINKED: frozenset({230013, 230029, 230053}),
    FailureReason.BOT_NOT_IN_CHAT: frozenset({230002, 232011}),
    FailureReason.CHAT_GONE: frozenset({232009, 232006}),
    # 232024 outside the availability range, 232043 cannot be added (resigned...), 232022
    # resigned (create chat), 99992351 unknown id: Lark's chat and chat-member pages.
    # 232027 "no valid members": add-members with nobody usable among the ids.
    FailureReason.MEMBERS_REFUSED: frozenset({232022, 232024, 232027, 232043, 99992351}),
    FailureReason.BOT_DISABLED: frozenset({232025}),
    FailureReason.APP_NOT_INSTALLED: frozenset({232034}),
    FailureReason.NO_PERMISSION: frozenset(
        {99991672, 99991676, 99991679, 230027, 232014, 99991401}
    ),
    FailureReason.APP_DISABLED: frozenset({10014}),
    # 230035: only the owner and admins may speak; 230018: another group setting forbids it.
    FailureReason.GROUP_RESTRICTED: frozenset({230035, 230018}),
    FailureReason.BAD_CREDENTIALS: frozenset(
        {
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
    FailureReason.RATE_LIMITED: frozenset({99991400, 230020, 232019}),
    FailureReason.QUOTA: frozenset({99991403}),
    FailureReason.INVALID_REQUEST: frozenset(
        {232001, 230001, 230006, 230022, 230028, 230034, 230038, 230054, 99992355, 99992356}
        | {99992361}
    ),
    FailureReason.CARD_INVALID: frozenset(
        {230099, 230025, 11310, 11311, 10002, 100000, 100030, 200830}
    ),
    FailureReason.MESSAGE_TOO_OLD: frozenset({230031, 230011, 230110, 200000}),
    FailureReason.TOKEN_EXPIRED: frozenset({300020, 300030, 300040}),
    FailureReason.SERVER: frozenset({20050}),
    # 232068 "the group is being created" (a repeat of a create still running), 230049 "the
    # message is being sent": the same request again a little later succeeds.
    FailureReason.BUSY: frozenset({232068, 230049}),
    # The urgent (加急) endpoints' own refusals (docs/lark/urgent.md).
    FailureReason.BUZZ_QUOTA: frozenset({230024}),
    FailureReason.BUZZ_NOT_ALLOWED: frozenset({230052}),
    FailureReason.BUZZ_UNREAD: frozenset({230023}),
}
_BY_CODE = {code: reason for reason, codes in REASONS.items() for code in codes}

# Waiting helps for these; everything else needs a person to change something first.
# `quota` counts as permanent: retrying does not help until the 1st of next month.
TRANSIENT = frozenset(
    {FailureReason.RATE_LIMITED, FailureReason.SERVER, FailureReason.NETWORK, FailureReason.BUSY}
)

# 230099 / 11310 covers two things: a card over 200 elements (permanent) and, with this
# message, a JSON 2.0 card someone is interacting with right now (it can be updated later).
CARD_LOCKED_WORDS = "card action is lock"

# Lark's token-invalid answers: drop the cached tenant token and retry the call once.
TOKEN_INVALID_CODES = frozenset({99991663, 99991664, 99991671})

# No code of our own is ever 0; these mark failures that never reached Lark's JSON.
NETWORK_CODE = -1
BAD_ANSWER_CODE = -2


BUZZ_ALL_INVALID_CODE = 230001  # urgent_*: every id in user_id_list was invalid


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
        self.reason = reason or classify(code, http_status, msg)
        self.permanent = self.reason not in TRANSIENT
        self.retry_after = retry_after
        self.path = path
        super().__init__(f"Lark {path or 'call'} failed: {code} {msg} (HTTP {http_status})")


def classify(code: int, http_status: int | None, msg: str = "") -> str:
    """The reason for a Lark code; unknown codes fall back on the HTTP status."""
    if code == NETWORK_CODE:
        return FailureReason.NETWORK
    if code in (230099, 11310) and CARD_LOCKED_WORDS in msg.lower():
        return FailureReason.BUSY
    if code in _BY_CODE:
        return _BY_CODE[code]
    if http_status == 429:
        return FailureReason.RATE_LIMITED
    if http_status is not None and http_status >= 500:
        return FailureReason.SERVER
    # An unknown code on a 2xx/4xx answer: retrying the same request will not help.
    return FailureReason.INVALID_REQUEST


def buzz_error(exc: LarkError) -> LarkError:
    """A refused urgent call, in the buzz's own words: a missing permission there is the
    urgent scope, and 230001 means no one in user_id_list could be buzzed, which for our
    one-person calls (shaped like lark-oapi's UrgentReceivers) is "not in the chat"."""
    if exc.reason == FailureReason.NO_PERMISSION:
        reason = FailureReason.BUZZ_SCOPE
    elif exc.code == BUZZ_ALL_INVALID_CODE:
        reason = FailureReason.NOT_IN_CHAT
    else:
        return exc
    return LarkError(exc.code, exc.msg, http_status=exc.http_status, reason=reason, path=exc.path)


def fix(reason: str) -> str:
    """What a person should do about `reason`, in the current locale."""
    texts: dict[str, str] = {
        FailureReason.NOT_LINKED: _(
            "The person is outside the Lark app's availability range, has left, or blocked the "
            "bot (未关联应用). Add them to the app's availability range in the Lark admin "
            "console and publish a new version."
        ),
        FailureReason.BOT_NOT_IN_CHAT: _(
            "The bot is not in this group chat. Add the bot to the chat."
        ),
        FailureReason.CHAT_GONE: _(
            "The group chat was dissolved. Choose another chat in the dispatch policy."
        ),
        FailureReason.NO_PERMISSION: _(
            "The Lark app lacks a permission (scope). Add it in the developer console, publish "
            "a new version and have the tenant admin approve it."
        ),
        FailureReason.APP_DISABLED: _(
            "Lark says the app is disabled in this tenant (10014). Have the tenant admin "
            "enable it again in the Lark admin console (Workplace → App management)."
        ),
        FailureReason.GROUP_RESTRICTED: _(
            "The group chat's settings stop the bot from posting (for example only the owner "
            "and admins may speak). In the chat's settings let all members speak, or make "
            "the bot a group admin."
        ),
        FailureReason.BUSY: _(
            "Lark was still busy with the same thing (a group being created, a message being "
            "sent, or someone pressing the card). It is retried automatically."
        ),
        FailureReason.BAD_CREDENTIALS: _(
            "Lark refused the App ID or App Secret. Copy them again from the developer console "
            "into the integration settings."
        ),
        FailureReason.MEMBERS_REFUSED: _(
            "Lark refused some people for the chat: they are outside the app's availability "
            "range, have resigned, or are unknown. Add them to the availability range in the "
            "Lark admin console, or remove them from the responders."
        ),
        FailureReason.BOT_DISABLED: _(
            "The Lark app's bot capability is off. Turn on Bot in the developer console "
            "(Features) and publish a new version."
        ),
        FailureReason.APP_NOT_INSTALLED: _(
            "The Lark app is not installed in this tenant. Have the tenant admin install "
            "(enable) it in the Lark admin console."
        ),
        FailureReason.RATE_LIMITED: _(
            "Lark's rate limit was hit. Messages are retried automatically."
        ),
        FailureReason.QUOTA: _(
            "The free edition's monthly API quota is used up (99991403). Upgrade the Lark "
            "plan; until the quota resets on the 1st, incident notifications go out by e-mail "
            "(when SMTP_URL is set) and other messages wait."
        ),
        FailureReason.INVALID_REQUEST: _(
            "Lark refused the request as invalid. See the error code for details."
        ),
        FailureReason.CARD_INVALID: _("Lark refused the card content (too large or malformed)."),
        FailureReason.MESSAGE_TOO_OLD: _(
            "The card message can no longer be updated (older than 14 days, recalled or deleted)."
        ),
        FailureReason.TOKEN_EXPIRED: _(
            "The card's update token expired; the card is updated another way."
        ),
        FailureReason.SERVER: _("Lark had a temporary error. It is retried automatically."),
        FailureReason.NETWORK: _(
            "Lark could not be reached (timeout or connection error). It is retried."
        ),
        **_buzz_fixes(),
    }
    return texts.get(reason, _("Unknown Lark error."))


def _buzz_fixes() -> dict[str, str]:
    return {
        FailureReason.BUZZ_QUOTA: _(
            "The tenant's SMS and phone buzz quota is used up (230024). An in-app buzz and an "
            "e-mail went instead; buy more buzzes in the Lark admin console (Billing, "
            "Entitlements: SMS / phone buzz) or move phone steps later in the rules."
        ),
        FailureReason.BUZZ_NOT_ALLOWED: _(
            "In this group only the owner and admins may buzz (230052). In the group's "
            "settings let all members buzz, or make the bot an admin."
        ),
        FailureReason.BUZZ_UNREAD: _(
            "The person has 200 unread buzzes, Lark's limit (230023). They must open their "
            "buzzes in Lark before another can ring."
        ),
        FailureReason.BUZZ_SCOPE: _(
            "The Lark app lacks the buzz permission (im:message.urgent, "
            "im:message.urgent:sms or im:message.urgent:phone). Add it in the developer "
            "console, publish a new version and have the tenant admin approve it."
        ),
        FailureReason.NOT_IN_CHAT: _(
            "The person is not in the chat of the card, so Lark cannot buzz them there. Add "
            "them to the group chat, or let their own direct card be buzzed."
        ),
        FailureReason.NO_CARD: _(
            "The card to buzz never reached the person; see its own line in Who was told."
        ),
        FailureReason.PHONE_RESERVED: _(
            "Phone buzzes are reserved for Critical incidents (Admin, Paging); an in-app buzz "
            "went instead."
        ),
    }
