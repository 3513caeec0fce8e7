"""Does the code keep its shape? Every import under oneonone/, read with `ast` (nothing is imported), checked
against the rules of issue 14 point 4, and every module's length.

- Features are ordered accounts < contacts < calendars < scheduling. A feature module imports core modules
  (oneonone/*.py but the wiring) and features at or below its own: never a higher one, not even inside a
  function. Imports under `if TYPE_CHECKING:` only name types, and are allowed.
- No `oneonone/<feature>/views.py` imports `oneonone.api`, and no feature module does: the API sits on top
  and may import every feature, and only the API and the wiring import it.
- Core modules import no feature (CORE_EXCEPTIONS lists the allowed ones, with the reason) and not the API.
- The wiring (`oneonone/__init__.py`, `commands.py`, `models.py`) imports everything; only it imports it.
- `scheduling/suggest.py` imports nothing from Flask, SQLAlchemy or oneonone, not even for types.
- No module is over MAX_LINES lines but `scheduling/suggest.py`.

The self-check at the end runs the same walker over small made-up modules, so that a walker that stopped
seeing imports could not pass silently.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGE = "oneonone"
FEATURES = ("accounts", "contacts", "calendars", "scheduling")  # lowest first
API = "api"
WIRING = frozenset({"__init__", "commands", "models"})  # top-level modules that wire every feature together
MAX_LINES = 400
LONG_ALLOWED = frozenset({"oneonone/scheduling/suggest.py"})  # the algorithm, one piece (issue 14 point 1)
PURE = "oneonone/scheduling/suggest.py"
PURE_FORBIDDEN = ("flask", "sqlalchemy", PACKAGE)  # top-level names; flask_* counts as flask
# ("oneonone/<core>.py", "oneonone.<feature>.<module>") -> why that core module may import it. Today no core
# module imports any feature, so the rule is that strict; an entry needs a reason a newcomer would accept
# (the accounts models are the only candidates: the core knows who is signed in).
CORE_EXCEPTIONS: dict[tuple[str, str], str] = {}

RULE_UPWARD = "a feature imports only features at or below its own (accounts < contacts < calendars < scheduling)"
RULE_VIEWS_API = "oneonone/<feature>/views.py never imports oneonone.api"
RULE_FEATURE_API = "features never import oneonone.api (the API sits on top of them)"
RULE_CORE = "core modules import no feature and not the API"
RULE_WIRING = "only the wiring (oneonone/__init__.py, commands.py, models.py) imports the wiring"
RULE_PURE = "scheduling/suggest.py imports nothing from flask, sqlalchemy or oneonone"
RULE_SIZE = f"no module over {MAX_LINES} lines but scheduling/suggest.py"
RULES = (RULE_UPWARD, RULE_VIEWS_API, RULE_FEATURE_API, RULE_CORE, RULE_WIRING, RULE_PURE, RULE_SIZE)


@dataclass(frozen=True)
class Import:
    """One imported name (or module), resolved to an absolute dotted path."""

    line: int
    target: str  # "oneonone.calendars.models.Calendar", "oneonone.extensions", "sqlalchemy"
    type_checking: bool


@dataclass(frozen=True)
class Violation:
    path: str
    line: int
    rule: str
    detail: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.rule}: {self.detail}"


def module_name(path: str) -> tuple[str, bool]:
    """("oneonone.calendars.views", False) for "oneonone/calendars/views.py"; packages end at __init__."""
    parts = path.removesuffix(".py").split("/")
    if parts[-1] == "__init__":
        return ".".join(parts[:-1]), True
    return ".".join(parts), False


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports_in(path: str, source: str) -> list[Import]:
    """Every import statement of a module, at any depth (functions, classes, try, if)."""
    module, is_package = module_name(path)
    package = module if is_package else module.rpartition(".")[0]
    found: list[Import] = []

    def visit(node: ast.AST, type_checking: bool) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                visit(child, True)
            for child in node.orelse:
                visit(child, type_checking)
            return
        if isinstance(node, ast.Import):
            found.extend(Import(node.lineno, alias.name, type_checking) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".")
                base_parts = base_parts[:len(base_parts) - (node.level - 1)]
                base = ".".join([*base_parts, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            found.extend(Import(node.lineno, f"{base}.{alias.name}", type_checking) for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child, type_checking)

    visit(ast.parse(source, filename=path), False)
    return found


def kind_of(target: str, core: frozenset[str]) -> tuple[str, str | None]:
    """What an import reaches: ("feature", name), ("api", None), ("core", name), ("wiring", name) or
    ("outside", None). A name the package root merely holds (`from oneonone import create_app`) is the wiring."""
    parts = target.split(".")
    if parts[0] != PACKAGE:
        return "outside", None
    if len(parts) == 1:
        return "wiring", "__init__"
    if parts[1] in FEATURES:
        return "feature", parts[1]
    if parts[1] == API:
        return "api", None
    if parts[1] in core:
        return "core", parts[1]
    if parts[1] in WIRING:
        return "wiring", parts[1]
    return "wiring", "__init__"


def _where(path: str) -> tuple[str, str | None]:
    """Which layer a file under oneonone/ is in: ("feature", name), ("api", None), ("core" or "wiring", stem)."""
    parts = path.split("/")
    if len(parts) == 2:
        stem = parts[1].removesuffix(".py")
        return ("wiring", stem) if stem in WIRING else ("core", stem)
    if parts[1] in FEATURES:
        return "feature", parts[1]
    if parts[1] == API:
        return "api", None
    raise AssertionError(f"{path}: a package that is neither a feature nor the API; add it to FEATURES in order")


def check(files: Mapping[str, str], core: frozenset[str] | None = None) -> list[Violation]:
    """Every violation of RULES in `files` (path relative to the repository -> source)."""
    if core is None:
        core = frozenset(path.split("/")[1].removesuffix(".py") for path in files
                         if path.count("/") == 1) - WIRING
    violations: list[Violation] = []
    for path, source in sorted(files.items()):
        lines = len(source.splitlines())
        if lines > MAX_LINES and path not in LONG_ALLOWED:
            violations.append(Violation(path, lines, RULE_SIZE, f"{lines} lines: cut it by the questions it answers"))
        layer, name = _where(path)
        module = module_name(path)[0]
        for imported in imports_in(path, source):
            if path == PURE and imported.target.split(".")[0].split("_")[0] in PURE_FORBIDDEN:
                violations.append(Violation(path, imported.line, RULE_PURE, imported.target))
            if imported.type_checking:
                continue
            kind, reached = kind_of(imported.target, core)
            rule = None
            if layer == "feature":
                if kind == "feature" and FEATURES.index(reached) > FEATURES.index(name):
                    rule = RULE_UPWARD
                elif kind == "api":
                    rule = RULE_VIEWS_API if path.endswith("/views.py") else RULE_FEATURE_API
            elif layer == "core":
                excepted = kind == "feature" and any(
                    imported.target == what or imported.target.startswith(what + ".")
                    for (who, what) in CORE_EXCEPTIONS if who == path)
                if kind in ("feature", "api") and not excepted:
                    rule = RULE_CORE
            if rule is None and kind == "wiring" and layer != "wiring":
                rule = RULE_WIRING
            if rule:
                violations.append(Violation(path, imported.line, rule, f"{module} imports {imported.target}"))
    return _one_per_statement(violations)


def _one_per_statement(violations: list[Violation]) -> list[Violation]:
    """`from x import a, b` breaking a rule is one violation naming both."""
    merged: dict[tuple[str, int, str], Violation] = {}
    for v in violations:
        key = (v.path, v.line, v.rule)
        if key in merged:
            merged[key] = Violation(v.path, v.line, v.rule, f"{merged[key].detail}, {v.detail.rpartition('.')[2]}")
        else:
            merged[key] = v
    return list(merged.values())


def _sources() -> dict[str, str]:
    return {path.relative_to(REPO).as_posix(): path.read_text(encoding="utf-8")
            for path in sorted((REPO / PACKAGE).rglob("*.py"))}


@pytest.fixture(scope="module")
def violations() -> list[Violation]:
    return check(_sources())


@pytest.mark.parametrize("rule", RULES)
def test_the_code_keeps_the_rule(violations, rule):
    broken = [str(v) for v in violations if v.rule == rule]
    assert not broken, f"{len(broken)} violation(s):\n" + "\n".join(broken)


def test_every_core_exception_is_still_needed():
    sources = _sources()
    for (who, what), reason in CORE_EXCEPTIONS.items():
        assert reason, (who, what)
        targets = [i.target for i in imports_in(who, sources[who]) if not i.type_checking]
        assert any(t == what or t.startswith(what + ".") for t in targets), f"{who} no longer imports {what}"


# ---- self-check: the walker sees what it must ----------------------------------------------------

def _one(path: str, source: str) -> list[tuple[str, int]]:
    return [(v.rule, v.line) for v in check({path: source}, core=frozenset({"extensions", "csv_safe", "email"}))]


@pytest.mark.parametrize(
    ("path", "source", "expected"),
    [
        pytest.param("oneonone/calendars/services.py", "from ..scheduling.notify import queue_meeting_email\n",
                     [(RULE_UPWARD, 1)], id="relative-upward"),
        pytest.param("oneonone/contacts/services.py", "import os\nfrom oneonone.scheduling import notify\n",
                     [(RULE_UPWARD, 2)], id="absolute-upward"),
        pytest.param("oneonone/accounts/models.py", "import oneonone.contacts.models\n",
                     [(RULE_UPWARD, 1)], id="plain-import-upward"),
        pytest.param("oneonone/contacts/services.py", "from .. import calendars\n",
                     [(RULE_UPWARD, 1)], id="package-from-root"),
        pytest.param("oneonone/calendars/__init__.py", "from ..scheduling import signals\n",
                     [(RULE_UPWARD, 1)], id="from-a-package-init"),
        pytest.param("oneonone/contacts/services.py",
                     "def delete(contact):\n    if contact:\n        from oneonone.calendars.models import Calendar\n",
                     [(RULE_UPWARD, 3)], id="function-level"),
        pytest.param("oneonone/contacts/services.py",
                     "class A:\n    def f(self):\n        try:\n            import oneonone.scheduling\n"
                     "        except ImportError:\n            pass\n",
                     [(RULE_UPWARD, 4)], id="method-in-try"),
        pytest.param("oneonone/contacts/services.py", "from ..scheduling.models import Event, Invitee\n",
                     [(RULE_UPWARD, 1)], id="one-statement-one-violation"),
        pytest.param("oneonone/scheduling/views.py", "from ..api.core import bearer_token\n",
                     [(RULE_VIEWS_API, 1)], id="views-to-api"),
        pytest.param("oneonone/contacts/views.py", "def photo():\n    from oneonone.api import core\n",
                     [(RULE_VIEWS_API, 2)], id="views-to-api-in-function"),
        pytest.param("oneonone/calendars/views.py", "from .. import api, extensions\n",
                     [(RULE_VIEWS_API, 1)], id="views-to-api-package-from-root"),
        pytest.param("oneonone/accounts/services.py", "import oneonone.api.core\n",
                     [(RULE_FEATURE_API, 1)], id="service-to-api"),
        pytest.param("oneonone/calendars/services.py",
                     "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                     "    from ..scheduling.models import Event\n    from oneonone.api import core\n",
                     [], id="type-checking-ignored"),
        pytest.param("oneonone/calendars/services.py",
                     "import typing\nif typing.TYPE_CHECKING:\n    from ..scheduling.models import Event\n"
                     "else:\n    from ..scheduling import notify\n",
                     [(RULE_UPWARD, 5)], id="typing-attribute-and-else-branch"),
        pytest.param("oneonone/scheduling/answers.py",
                     "from . import links\nfrom .. import csv_safe\nfrom ..calendars.models import Timeslot\n"
                     "from ..extensions import db\nfrom oneonone.accounts.models import User\nimport sqlalchemy\n",
                     [], id="same-lower-and-core-allowed"),
        pytest.param("oneonone/api/calendars.py", "from ..scheduling import answers\nfrom . import schemas\n",
                     [], id="api-imports-features"),
        pytest.param("oneonone/__init__.py", "from .api import init_api\nfrom .scheduling.views import bp\n",
                     [], id="wiring-imports-everything"),
        pytest.param("oneonone/email.py", "from .extensions import db\nfrom .calendars.models import Calendar\n",
                     [(RULE_CORE, 2)], id="core-to-feature"),
        pytest.param("oneonone/email.py", "def f():\n    from .accounts.models import User\n",
                     [(RULE_CORE, 2)], id="core-to-accounts-without-exception"),
        pytest.param("oneonone/errors.py", "from oneonone.api.core import error_body\n",
                     [(RULE_CORE, 1)], id="core-to-api"),
        pytest.param("oneonone/calendars/grid.py", "from oneonone import create_app\nfrom ..models import Event\n",
                     [(RULE_WIRING, 1), (RULE_WIRING, 2)], id="feature-to-wiring"),
        pytest.param("oneonone/scheduling/suggest.py",
                     "import numpy\nimport sqlalchemy as sa\nfrom flask import g\n"
                     "from flask_login import current_user\nfrom . import models\n"
                     "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                     "    from oneonone.scheduling.models import Event\n",
                     [(RULE_PURE, 2), (RULE_PURE, 3), (RULE_PURE, 4), (RULE_PURE, 5), (RULE_PURE, 8)],
                     id="suggest-stays-pure"),
        pytest.param("oneonone/scheduling/suggest.py", "x = 1\n" * 1200, [], id="suggest-may-be-long"),
        pytest.param("oneonone/calendars/grid.py", "x = 1\n" * 401, [(RULE_SIZE, 401)], id="too-long"),
        pytest.param("oneonone/calendars/grid.py", "x = 1\n" * 400, [], id="just-short-enough"),
    ],
)
def test_the_walker_catches_each_kind_of_violation(path, source, expected):
    assert sorted(_one(path, source)) == sorted(expected)


def test_the_walker_reads_the_real_tree():
    """The real tree has imports of every kind, so a walker that saw none would be broken."""
    sources = _sources()
    assert f"{PACKAGE}/scheduling/views.py" in sources and f"{PACKAGE}/scheduling/suggest.py" in sources
    targets = {i.target for path, source in sources.items() for i in imports_in(path, source)}
    assert "oneonone.extensions.db" in targets  # from ..extensions import db, from .extensions import db
    assert any(t.startswith("oneonone.calendars.") for t in targets)
    assert any(t.startswith("oneonone.scheduling.") for t in targets)
