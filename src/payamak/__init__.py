"""Payamak (پیامک): a self-hostable bulk-SMS platform."""

__version__ = "0.1.0"
