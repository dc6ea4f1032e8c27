"""Fails at import: an init error."""

raise RuntimeError("configuration missing")
