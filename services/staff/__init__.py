"""Staff accounts, roles and logins (passwords, TOTP, lock-outs)."""
