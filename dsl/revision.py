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

# The clauses that leave a model's revision as it is: they change nothing it raises.
PROSE_AND_EXAMPLES = frozenset({"example", "advice", "basis"})


def revision_of(node: ast.Item) -> str:
    """A rule's revision: a hash of what it says, not of how it is laid out.

    Comments, spacing, examples, `advice` and `basis` don't change it: none
    of them changes what a model raises (examples test it, advice and basis are
    prose for the recommendation drafts), and a new revision would tell the
    ledger and `oversight check --against` that a rule changed when its
    warnings cannot have. Any change to the rule itself does. Models, the
    index, shared definitions and relations all have one.
    """
    if isinstance(node, ast.Model | ast.Index):
        body = tuple(c for c in node.clauses if c.kind not in PROSE_AND_EXAMPLES)
        name = node.id if isinstance(node, ast.Model) else node.name
        content = dump({"name": name, "title": node.title, "clauses": body}, spans=False)
    else:
        content = dump(node, spans=False)
    digest = hashlib.sha256(
        json.dumps(content, ensure_ascii=False, sort_keys=True, default=str).encode("utf-8")
    )
    return digest.hexdigest()[:12]
