"""App-specific tooling around the order flow: catalog seed data and the `orderflow demo` command."""
