"""Delivery: the outbox worker, what each row kind does, Lark's limits, e-mail."""
