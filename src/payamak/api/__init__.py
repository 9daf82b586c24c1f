"""The HTTP API (FastAPI): routers per domain, error mapping, authentication."""
