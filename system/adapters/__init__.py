"""Adapters: the database (SQLAlchemy Core on SQLite or PostgreSQL), clocks, stores."""
