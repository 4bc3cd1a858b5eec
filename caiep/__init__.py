"""CAiEP® charter credentials: issue, verify and export Open Badges 3.0 credentials.

One import package: the entry points (CLI, settings, wiring) sit here, the design's top-level
folders install beneath it (``issuer/`` is :mod:`caiep.issuer`, ``keys/`` is :mod:`caiep.keys`,
and likewise ``schemas``, ``proofs``, ``verifier``, ``wallet_export``), and :mod:`caiep.errors`
holds the exception tree that every other part raises from.
"""

from pkgutil import extend_path

# Run from the repository root (``python -m caiep.demo``, gunicorn), this folder is found before
# the installed package and holds only the entry points; extending the path lets the installed
# subpackages answer for the rest. An editable install maps them with its own finder.
__path__ = extend_path(__path__, __name__)
