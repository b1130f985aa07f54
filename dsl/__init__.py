"""The policy language: grammar, parser, AST, checker and diagnostics."""
