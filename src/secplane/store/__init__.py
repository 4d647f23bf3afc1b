"""Persistence: SQLAlchemy Core tables, Alembic migrations, SQLite (default) or PostgreSQL."""
