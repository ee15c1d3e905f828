"""Helpers shared by tests: databases on SQLite and PostgreSQL, a small estate."""
