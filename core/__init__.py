"""Domain types, settings, clock, errors and ports. Imports nothing of ours."""
