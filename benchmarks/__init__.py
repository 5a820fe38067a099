"""Benchmarks: each module has ``main()`` that prints its figures as a ratio against a reference
measured in the same run (never an absolute timing assert)."""
