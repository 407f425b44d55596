"""Outbound webhooks: an account's endpoints, Standard Webhooks signing, and the signed events
written to the outbox in the incident's own transaction (emit.py); the worker sends them
(webapp/delivery/webhook_kinds.py)."""
