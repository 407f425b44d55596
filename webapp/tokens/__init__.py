"""API tokens: creating, listing and revoking an account's bearer tokens, and checking the
`Authorization` header of an API request against them (scope, expiry, revocation, the
failed-attempt limit per client address, the last use)."""
