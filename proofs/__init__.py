"""Proofs shared by issuer and verifier: RDF canonicalisation, Data Integrity and VC-JOSE.

Layering: ``rdf`` turns JSON-LD into quads (with data-loss detection), ``rdfc`` gives their
RDFC-1.0 canonical N-Quads, ``shapes`` compiles known credential shapes for speed, and
``dataintegrity`` / ``jose`` create and verify proofs on top.
"""
