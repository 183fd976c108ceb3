"""Alembic migrations for the gate API, run by ``gatewatch.api.db.upgrade``."""
