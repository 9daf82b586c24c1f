"""Billing: tariffs and the one pricing function, packages, payments, and the append-only ledger.

Other domains use `service.price_table` to price a send and `service.hold` / `release` / `settle`
/ `refund` to move credit; everything else here serves people and operators through HTTP and CLI.
"""
