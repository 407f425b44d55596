"""Alert intake: what monitoring tools post to `/api/v1/alerts/<key>`, read and applied.

`parsers/` reads each tool's body (one module per tool, one table of them in
`parsers/__init__.py`); `ingest` applies the parsed alerts to incidents in one transaction;
`sources` is the admin's side of a source (its kind, intake URL and test command).
"""
