"""The simulators stand on the contract, not on the product: they never import its logic."""

from __future__ import annotations

import ast
from pathlib import Path

SANDBOX = Path(__file__).resolve().parents[2] / "sandbox"
# Facts only: the compiled catalogue, its error type and the hardened XML reader.
ALLOWED_SHARED = {"shared.qbxml.schema", "shared.qbxml.errors", "shared.qbxml.xml"}


def imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_no_simulator_imports_the_product() -> None:
    bad = {}
    for path in SANDBOX.rglob("*.py"):
        wrong = {m for m in imports(path) if m.split(".")[0] in ("cloud_app", "local_agent")
                 or (m.startswith("shared") and m not in ALLOWED_SHARED)}
        if wrong:
            bad[str(path.relative_to(SANDBOX))] = sorted(wrong)
    assert bad == {}
    assert len(list(SANDBOX.rglob("*.py"))) > 20  # the scan saw the simulators
