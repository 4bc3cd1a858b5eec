"""CAiEP® charter credentials: issue, verify and export Open Badges 3.0 credentials.

This package holds the entry points (CLI, settings, wiring) and, in :mod:`caiep.errors`,
the exception tree that every other package of the project raises from.
"""
