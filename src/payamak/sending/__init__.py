"""Sending: requests to numbers and groups, blacklist and opt-outs, scheduling, the status panel."""
