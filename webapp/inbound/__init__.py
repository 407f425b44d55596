"""Inbound routing: one verified Lark event routed to the capability that owns it.

Above the capabilities and below the HTTP adapters: chat events (the bot added to or
removed from a chat, a chat dissolved) go to dispatch, messages to the bot (`@bot oncall`)
to schedules. The events view verifies and parses; this package decides who acts.
"""
