"""The `diswot` command line: thin shells over the library calls."""

from diswot.cli.app import app, main

__all__ = ["app", "main"]
