"""Stores: SQLite (embedded default) and Redis (shared), hash-chained journal, operator command queue."""
