"""Import direction (DESIGN.md): lower layers never import higher ones.

Each module is given a rank; a module may import modules of its own rank or lower. The protocol
layer additionally stays free of the web framework and the ORM, so it can be read and tested alone.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "fediverse"

# Longest prefix wins. Within L2 the order is jobs < outbox < services < inbox: services publish
# through the outbox, inbox handlers call services, and the outbox learns of pruned followers
# through callbacks instead of importing services.
RANKS: dict[str, int] = {
    "fediverse": 0,
    "fediverse.config": 0,
    "fediverse.errors": 0,
    "fediverse.uris": 0,
    "fediverse.ids": 0,
    "fediverse.activitypub": 1,
    "fediverse.webfinger": 1,
    "fediverse.store": 2,
    "fediverse.jobs": 3,
    "fediverse.outbox": 4,
    "fediverse.services": 5,
    "fediverse.inbox": 6,
    "fediverse.web": 7,
    "fediverse.webfinger.routes": 7,
    "fediverse.inbox.routes": 7,
    "fediverse.outbox.routes": 7,
    "fediverse.api": 7,
    "fediverse.ui": 7,
    "fediverse.app": 8,
    "fediverse.cli": 9,
    "fediverse.__main__": 9,
}
PURE_PREFIXES = ("fediverse.activitypub", "fediverse.webfinger.jrd", "fediverse.webfinger.client")
FORBIDDEN_IN_PURE = ("quart", "sqlalchemy", "alembic", "hypercorn", "werkzeug")


def rank_of(module: str) -> int:
    best = ""
    for prefix in RANKS:
        if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > len(best):
            best = prefix
    return RANKS[best]


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
            found.extend(f"{node.module}.{alias.name}" for alias in node.names)
    return found


MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: module_name(p))
def test_no_module_imports_a_higher_layer(path: Path) -> None:
    importer = module_name(path)
    for imported in imports_of(path):
        if not imported.startswith("fediverse"):
            continue
        if imported == "fediverse" or imported.startswith("fediverse.__version__"):
            continue
        assert rank_of(imported) <= rank_of(importer), (
            f"{importer} (layer {rank_of(importer)}) imports {imported} (layer {rank_of(imported)})"
        )


@pytest.mark.parametrize(
    "path",
    [p for p in MODULES if module_name(p).startswith(PURE_PREFIXES)],
    ids=lambda p: module_name(p),
)
def test_protocol_layer_is_pure(path: Path) -> None:
    for imported in imports_of(path):
        assert not imported.startswith(FORBIDDEN_IN_PURE), (
            f"{module_name(path)} imports {imported}; the protocol layer must not"
        )


MIGRATIONS = sorted((PACKAGE / "store" / "migrations" / "versions").glob("0*.py"))


@pytest.mark.parametrize("path", MIGRATIONS, ids=lambda p: p.stem)
def test_migrations_are_frozen_snapshots(path: Path) -> None:
    """A migration describes the schema as it was: it may use our column types, never the
    current table definitions or services, which change after it is written."""
    ours = [name for name in imports_of(path) if name.startswith("fediverse")]
    assert set(ours) <= {"fediverse.store.types"}, f"{path.name} imports {ours}"


def test_the_rule_catches_a_violation(tmp_path: Path) -> None:
    """The checker itself works: a store module importing a service is a violation."""
    assert rank_of("fediverse.store.actors") < rank_of("fediverse.services.actors")
    assert rank_of("fediverse.webfinger.jrd") < rank_of("fediverse.webfinger.routes")
    bad = tmp_path / "bad.py"
    bad.write_text("from fediverse.services.actors import create_user\n")
    assert "fediverse.services.actors" in imports_of(bad)
