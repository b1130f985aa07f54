"""A rule's revision: a hash of what it says, not of how it is laid out.

The checker of dsl/check/ gives every model, the index, each shared
definition, relation and lookup its revision with `revision_of`; the ledger and
`oversight check --against` compare revisions to tell a rule changed.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from dsl import ast


def _strip_spans(data: Any) -> Any:
    """AST data without positions: where something is written is not what it says."""
    if isinstance(data, dict):
        if data.get("node") == "Span":
            return None
        return {k: _strip_spans(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_strip_spans(v) for v in data]
    return data


def revision_of(node: ast.Item) -> str:
    """A rule's revision: a hash of what it says, not of how it is laid out.

    Comments, spacing and examples don't change it (examples don't change
    what a model raises); any change to the rule itself does. Models, the
    index, shared definitions and relations all have one.
    """
    if isinstance(node, ast.Model | ast.Index):
        body = tuple(c for c in node.clauses if c.kind != "example")
        name = node.id if isinstance(node, ast.Model) else node.name
        content = _strip_spans({"name": name, "title": node.title, "clauses": ast.to_json(body)})
    else:
        content = _strip_spans(ast.to_json(node))
    digest = hashlib.sha256(
        json.dumps(content, ensure_ascii=False, sort_keys=True, default=str).encode("utf-8")
    )
    return digest.hexdigest()[:12]
