"""Diagnostics: why Lark does not work for an account, and the setup checklist."""
