"""Alembic migrations of the warehouse (a package only so that a wheel ships them)."""
