"""Accounts: sign-up with a verified mobile, month-long logins, API keys, roles."""
