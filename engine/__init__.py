"""The one engine that turns events into actions, its wiring, the live runner and the CLI."""
