"""A rule's revision: a hash of what it says, not of how it is laid out.

The checker of dsl/check/ gives every model, the index, each shared
definition, relation and lookup its revision with `revision_of`; the ledger and
`oversight check --against` compare revisions to tell a rule changed.
"""

from __future__ import annotations

import hashlib
import json

from dsl import ast
from dsl.node import dump


def revision_of(node: ast.Item) -> str:
    """A rule's revision: a hash of what it says, not of how it is laid out.

    Comments, spacing and examples don't change it (examples don't change
    what a model raises); any change to the rule itself does. Models, the
    index, shared definitions and relations all have one.
    """
    if isinstance(node, ast.Model | ast.Index):
        body = tuple(c for c in node.clauses if c.kind != "example")
        name = node.id if isinstance(node, ast.Model) else node.name
        content = dump({"name": name, "title": node.title, "clauses": body}, spans=False)
    else:
        content = dump(node, spans=False)
    digest = hashlib.sha256(
        json.dumps(content, ensure_ascii=False, sort_keys=True, default=str).encode("utf-8")
    )
    return digest.hexdigest()[:12]
