"""Alembic migrations of the registry; applied by ``issuer.registry.open_registry``."""
