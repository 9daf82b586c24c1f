"""Ways out to the phone network: the Provider protocol and its implementations."""
