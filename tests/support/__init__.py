"""Helpers the test modules share: where Cedar's corpus is (and skipping,
with the reason, when it is absent), running the command line, and asking
the official engine (cedarpy) for a decision."""
