"""Tiny handlers for the deployer and CLI tests: they show what the function saw."""

import os


def echo(event, context):
    """Return the event and the environment the deployer resolved, so tests can check both."""
    return {"event": event, "stage": os.environ.get("STAGE"), "queue_url": os.environ.get("QUEUE_URL")}


def fail(event, context):
    raise ValueError(f"refused {event!r}")
