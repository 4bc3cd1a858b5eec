"""The ``caiep`` subcommands, one module per area, declared with click.

Each module imports only click, the standard library and :mod:`caiep.commands.common` at the
top; the machinery a command needs (the issuer package, the verifier, the registry, Flask)
is imported inside the command's body, so ``caiep --help`` and ``caiep verify`` start without
loading what they do not run.
"""
