"""Every point the Lark sources leave open, decided once for the sandbox.

Facts with a source live in docs/lark/. Each constant below is a choice where Lark's pages
leave the point open (or say nothing); the comment gives the reason. Change a value
here and the whole sandbox follows.
"""

from __future__ import annotations

# --- Tokens -----------------------------------------------------------------------------
TOKEN_LIFETIME_S = 7200  # documented maximum: 2 hours
TOKEN_REISSUE_BELOW_S = 30 * 60  # documented: a new token only when < 30 min remain
# Wrong app_secret on auth/v3/*_access_token/internal: 10015 "app secret invalid", as
# Lark's generic error-code page lists it (docs/lark/open-api.md#tenant-token; the official CLI's
# fixtures answer 10014, which that page calls "app unauthorised"; we follow the page).
# Unknown app_id: 10003 "invalid param".
# HTTP status of token/permission errors is not documented; we answer 400 like other 4xx codes.
CODE_BAD_SECRET = 10015
CODE_UNKNOWN_APP = 10003
HTTP_STATUS_AUTH_ERRORS = 400

# --- Messages ---------------------------------------------------------------------------
# A receive_id that names nobody (unknown open_id/email/union_id/user_id): 230034 "The
# receive_id is invalid." A known person outside the availability range, or of another
# tenant: 230013. An unknown chat_id: 230001 (candidates were 230001/230034/99992356).
CODE_UNKNOWN_RECEIVER = 230034
CODE_UNKNOWN_CHAT = 230001
# A repeated uuid within the hour returns the first message again, with code 0, and counts
# as a call (it is a successful API call from the caller's point of view).
UUID_DEDUP_COUNTS_AS_CALL = True
# PATCH of a card that was not sent with config.update_multi=true (or new content without
# it): 230001 with an ext naming the cause; the docs say only that it must be declared.
# PATCH by another app than the sender: 230027 "Lack of necessary permissions."
# PATCH of an unknown message_id: 230001 with ext "message not found".
PATCH_REQUIRES_UPDATE_MULTI_CODE = 230001
# --- Chats ------------------------------------------------------------------------------
CHATS_PAGE_SIZE_DEFAULT = 20  # third-party: default 10 or 20; we take 20
CHATS_PAGE_SIZE_MAX = 100  # third-party: max 100
# Group APIs on an unknown chat_id: 232006 "invalid chat_id" (not in the notes' list).
CODE_UNKNOWN_GROUP = 232006
# create chat (group/chat/create): a resigned user answers 232022, a user outside the
# availability range 232043 (docs/lark/open-api.md#chats), the whole call fails.
# add members (group/chat-member/create), `succeed_type`: 0 (default) fails the whole call
# on one unusable id: an unknown id 99992351, a resigned one 232043, one outside the
# availability range 232024 (the page lists all three; which one wins when several apply
# is ours: unknown first, then resigned). 1 adds the usable ones and lists the rest in
# invalid_id_list / not_existed_id_list, and when none is usable answers 232027 "no valid
# members" (the page's error table; whether Lark answers it or an empty success here is
# not said, and the error is the stricter choice). 2 fails on any unusable id (99992351):
# the page says "任一不可用…失败".
# The chat list (im/v1/chats) keeps listing a chat the bot was in after it was dissolved,
# with chat_status "dissolved", or "dissolved_save" when the owner kept the history for
# members (the list page's enum; a third-party report of dissolved_save chats listed). A
# plain dissolve sends im.chat.disbanded_v1; one keeping the history sends nothing
# (the disbanded-event page says so).
# --- Contact ----------------------------------------------------------------------------
BATCH_GET_ID_DEFAULT_TYPE = "open_id"  # default user_id_type undocumented
# Whether batch_get_id echoes an address as sent or normalised is undocumented. E-mails are
# matched whatever their case and echoed lower-case (the seeded ones are lower-case), so a
# caller that matches the echo against what it sent byte for byte is caught.
# The contact data range is the availability range: a person outside it comes back
# without user_id, and sending to their open_id answers 230013.

# --- Scopes ----------------------------------------------------------------------------
# An app has the scopes granted in its console; a call or a field needing one it lacks is
# refused or left out, as Lark does. A new sandbox app has every scope the product uses, so
# a test takes scopes away to see the refusal. Sources: docs/lark/scopes.md.
DEFAULT_SCOPES = frozenset(
    {
        "im:chat",
        "im:message",
        "im:message.group_at_msg:readonly",
        "im:message.p2p_msg:readonly",
        "contact:user.id:readonly",
        "contact:contact.base:readonly",
        "contact:user.base:readonly",
        "contact:user.email:readonly",
        "contact:user.phone:readonly",
    }
)
# im.message.receive_v1 reaches the bot for a direct message with one of the first set, and
# for a group message that @mentions it with one of the second (the receive_v1 page lists
# these as the event's permissions; im:message alone is not among them).
P2P_MESSAGE_SCOPES = frozenset({"im:message.p2p_msg:readonly", "im:message.p2p_msg"})
GROUP_MESSAGE_SCOPES = frozenset(
    {
        "im:message.group_at_msg:readonly",
        "im:message.group_at_msg",
        "im:message.group_msg",
        "im:message.group_msg:readonly",
    }
)
# contact/v3/users/:user_id needs one of these (the user-get page); without: 99991672.
CONTACT_USER_SCOPES = frozenset(
    {
        "contact:contact.base:readonly",
        "contact:contact:access_as_app",
        "contact:contact:readonly",
        "contact:contact:readonly_as_app",
    }
)
# user_info's fields and their scopes (the user_info page's field permissions).
USER_INFO_FIELD_SCOPES = {
    "email": "contact:user.email:readonly",
    "mobile": "contact:user.phone:readonly",
    "enterprise_email": "contact:user.employee:readonly",
}
CODE_SCOPE_MISSING = 99991672
# A disabled app (stopped in the admin console) gets 10014 "app unauthorized" on its
# token request (the generic error-code page: 应用状态不可用).
CODE_APP_DISABLED = 10014

# --- Limits and quota ------------------------------------------------------------------
API_PER_SECOND = 50  # per API x app (official doc), also the third-party "per app" reading
API_PER_MINUTE = 1000
PER_RECEIVER_PER_SECOND = 5  # per user and per chat (send/reply), per message (PATCH)
# Free edition monthly quota; configurable per tenant (Lark has changed it at times).
FREE_MONTHLY_QUOTA = 10_000
# The month turns at midnight Beijing time (Feishu is a China service).
QUOTA_UTC_OFFSET_HOURS = 8
# Quota is checked before the rate limits; only successful counted calls use it up.
# 230020 answers carry no x-ogw-ratelimit-* headers (their presence is undocumented).
CODE_RATE_LIMIT_HEADERS_ON_230020 = False

# --- Callbacks --------------------------------------------------------------------------
CALLBACK_TIMEOUT_S = 3.0
URL_VERIFICATION_TIMEOUT_S = 1.0
# Both channels post to the one card request URL of the app (the product has one card
# URL); when both are subscribed the new-shape request goes first, then the old one, and
# the first good answer is applied.
# The X-Lark-* signature headers are sent on the new channel even without an Encrypt Key
# (the signature then uses an empty key), as a captured event webhook shows.
SIGN_WITHOUT_ENCRYPT_KEY = True
# url_verification is encrypted when the app has an Encrypt Key, on saving the URL; the
# old channel's handshake is the same request (one URL, one handshake).
# The old channel (trigger_v1) never encrypts. It carries open_chat_id (SDK model has it).
V1_INCLUDES_OPEN_CHAT_ID = True
# {"msg": "success"} (what the SDKs send) leaves a v1 card unchanged, like {}.
# A callback after 30 days: the client refuses locally with this message and sends nothing.
# A card returned in a callback answer replaces the message for every viewer, even for a
# 1.0 card without update_multi (Lark would update only the clicker's copy).
# A template card ({"type": "template"}) is stored as such and shown as a placeholder.
# 200672 (wrong format) covers a non-JSON body, a toast that is not an object, and an
# answer of the other channel's shape; 200673 a "card" that is not a raw/template card.
CARD_INTERACTION_DAYS = 30  # JSON 1.0 cards (release notes of JSON 2.0: 1.0 = 30 days)
CARD_UPDATE_DAYS = 14
# JSON 2.0 cards: "卡片可交互和可更新时间统一为 14 天" (card-json-v2-breaking-changes-
# release-notes, section 卡片交互有效期变更).
CARD_V2_INTERACTION_DAYS = 14

# --- Events (webapp/sandbox/events.py) ---------------------------------------------------
# Events go to the app's one event request URL (事件配置 → 请求地址), schema 2.0 only, and
# only the event types the app subscribed. Encryption, signature and the url_verification
# handshake are those of the new card channel: Lark's event guide uses one Encrypt Key and
# Verification Token pair for events and callbacks (docs/lark/callbacks.md#two-channels).
# Lark wants a 200 within 3 s (event guide, 接收事件); we wait that long. Lark re-sends a
# failed event with the same event_id (retries after 15 s, 5 min, 1 h, 6 h on the guide's
# page); the sandbox queues them (EVENT_RETRY_AFTER_S) and pushes those due when asked
# (handle.retry_events), so tests choose the moment.
EVENT_TIMEOUT_S = 3.0
# A push that got no 200 is pushed again 15 s, 5 min, 1 h and 6 h later (the event guide's
# schedule, each interval after the previous try). Whether a retry is signed afresh is not
# documented; the sandbox sends the very same bytes and headers, so the retry carries the
# first push's timestamp: the harder case for a receiver with a freshness window
# (docs/lark/events.md, "The replay window against Lark's retries").
EVENT_RETRY_AFTER_S = (15, 300, 3600, 21600)
# header.create_time is milliseconds as a string (the event pages' samples: "1608725989000");
# the card channel's callbacks keep their own format.
# im.message.receive_v1 reaches a bot for its direct chat and, in a group, only for messages
# that @mention it: the default scope im:message.group_at_msg:readonly (the receive_v1 page:
# 获取用户在群组中@机器人的消息); the all-messages scope is not simulated. Each needs its
# scope (P2P_MESSAGE_SCOPES, GROUP_MESSAGE_SCOPES): without it nothing is sent.
MESSAGE_EVENT_ONLY_WHEN_MENTIONED = True
# Mentions carry key, id, name and tenant_key only: the receive_v1 page and lark-oapi's
# MentionEvent have no mentioned_type, so the sandbox sends none (docs/lark/events.md).
MENTIONED_TYPE_SENT = False
# A group is dissolved by its owner only (Lark client: 群设置 → 解散群组 is the owner's);
# im.chat.disbanded_v1 then goes to every bot that was in it. Adding or removing a bot in
# the client sends im.chat.member.bot.added_v1 / deleted_v1 to that bot's app only.
# The operator_id of the chat events carries open_id, user_id and union_id (the SDK's UserId).

# --- Card validation (webapp/sandbox/card_rules.py) -------------------------------------
# A card that breaks a JSON 2.0 rule (unknown property, bad enum, removed 1.0 tag, over
# 30 KB) on send or PATCH: 230099 "Failed to create card content" with the rule in ext
# (im-v1 message create / patch error tables list 230099 for card content errors; the
# release notes say an unsupported property "将报错" without naming the code).
CODE_CARD_REFUSED = 230099
# The same on the delayed update (interactive/v1/card/update): 10002 "card param error",
# the code that API documents for a malformed card (delay-update-message-card).
CODE_DELAYED_CARD_REFUSED = 10002
# A callback answer whose card breaks a rule: the client shows 200673 "card in the answer
# is invalid" (docs/lark/callbacks.md#client-error-codes).
# 200672 stays for an answer of the wrong shape.
CODE_ANSWER_CARD_REFUSED = 200673

# --- OAuth ------------------------------------------------------------------------------
# The authorize page skips consent when the request comes from the simulated Lark client:
# its user agent carries "Lark/" or "Feishu/" (as Lark's does), or the sandbox client's
# workbench opened this app in this browser (a real browser cannot fake the user agent).
# A person outside the availability range still gets a code; the token exchange answers
# 20010 ("user may not use the app").
# A person of another tenant can authorize (as if the app were installed there too) and
# user_info reports their own tenant_key, so the product's tenant check is exercised.
# Redirect URIs match the allowlist exactly on scheme, host, port and path; query and
# fragment are ignored on both sides (no prefix matching, no wildcards).
# code_challenge_method defaults to "plain" (documented); v2 accepts a verifier without a
# challenge (documented difference with v3).
OAUTH_CODE_LIFETIME_S = 300
USER_TOKEN_LIFETIME_S = 7200
REFRESH_TOKEN_LIFETIME_S = 604800
# Every sandbox app sees the same open_id for a person (real open_ids differ per app).
SAME_OPEN_ID_FOR_EVERY_APP = True
# user_info with a bad user token: HTTP 200 with code 20005 (documented as HTTP 200 errors);
# without any Authorization header: 99991661 like the other Open APIs.
# Tokens are self-contained and signed with a per-process key: they outlive a reset of the
# in-memory state (as a real token outlives anything we do) but not a restart.

# --- Faults -----------------------------------------------------------------------------
# An injected 5xx answers Lark's generic server error body {"code": 20050, ...}.
FAULT_SERVER_ERROR_CODE = 20050

# --- Urgent (加急, docs/lark/urgent.md) --------------------------------------------------
# The tenant's SMS + phone buzz quota a month: Lark's help centre gives it per plan, which
# our notes did not read (UNCONFIRMED); 100 is small enough that a test can use it up.
BUZZ_MONTHLY_QUOTA = 100
MAX_UNREAD_BUZZES = 200  # documented: a person's unread buzzes may not exceed 200
MAX_BUZZ_IDS = 200  # documented: user_id_list holds at most 200 ids
# A missing urgent scope: 99991672 with the scopes named, as for other scopes.
CODE_MISSING_SCOPE = 99991672
# Buzzing a message of another app, or an unknown message: 230012 "only the bot's own
# messages"; an unknown id is refused the same way (the stricter choice).
CODE_NOT_OWN_MESSAGE = 230012
