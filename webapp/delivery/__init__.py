"""Delivery, the outbox worker: due rows, through the gates (quota, Lark's rate limits), to
Lark or e-mail, each row ending delivered, waiting or failed. It drives the capabilities;
no capability imports it."""
