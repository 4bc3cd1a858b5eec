"""Pinned JSON-LD contexts and JSON Schemas, the offline document loader, schema validation.

Nothing here ever touches the network: every document the project reads at verify or sign
time is a file in this package, checked against the digest its publisher gives where one is
published.
"""
