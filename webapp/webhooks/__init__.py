"""Outbound webhooks: an account's endpoints, the signed events written to the outbox in the
incident's own transaction (emit.py), and their sending by the worker (sending.py)."""
