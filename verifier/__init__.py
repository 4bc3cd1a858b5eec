"""Verification of Open Badges 3.0 credentials: one result entry per check."""
