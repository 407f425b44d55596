"""The Lark boundary: every byte exchanged with Lark passes through this package.

- `crypto`: callback decryption and signatures (the inbound side).
- `client`: the one HTTP seam for the Open API (the outbound side).
- `errors`: Lark's answers, classified into one small taxonomy with the fix in words.
- `cards`: the incident card (JSON 2.0) and `applink`: links from a card into the web app.
"""
