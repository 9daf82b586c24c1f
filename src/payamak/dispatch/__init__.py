"""Delivery: routes, the queue worker (claim, throttle, submit, retry), receipts and inbound SMS."""
