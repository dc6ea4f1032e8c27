"""Fault injection for the local cloud: the plan (`plan`), the emulator proxy (`proxy`), the crash hook (`crash`)."""
