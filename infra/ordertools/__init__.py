"""Application tooling around the order flow: demo, replay, record and DLQ commands for the `orderflow` CLI."""
