"""The gate: pages reach the data only through it, every regional query is registered with it, and it
refuses a region outside the principal's scope before anything is read."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from dashboard import queries
from dashboard.access import Principal
from dashboard.queries import OPERATOR, Gate, OutOfScope, QueryError, gate

ROOT = Path(__file__).resolve().parent.parent
DOMAINS = (
    queries.regions,
    queries.kpi,
    queries.population,
    queries.housing,
    queries.events,
    queries.economy,
    queries.iot,
)
REGION_ARGUMENTS = ("code", "region", "codes")
# Modules outside the pages that may call query functions themselves: the gate's cached door for the
# pages, and the sign-in, which reads the build facts and the name of the principal's own region
# before any page runs.
NOT_PAGES = {"data.py", "auth.py", "accounts.py", "server.py"}
DISTRICT = Principal("rongchang", "analyst", "500153", "password")


def public_queries() -> list:
    return [
        function
        for module in DOMAINS
        for name, function in inspect.getmembers(module, inspect.isfunction)
        if function.__module__ == module.__name__ and not name.startswith("_")
    ]


def test_every_public_query_is_registered_with_its_region_argument():
    found = public_queries()
    assert len(found) >= 30
    for function in found:
        assert function.__name__ in gate.REGISTRY, f"{function.__name__} is not registered with the gate"
        parameters = inspect.signature(function).parameters
        asked = [name for name in REGION_ARGUMENTS if name in parameters]
        registered = gate.REGISTRY[function.__name__]
        assert registered.function is function
        assert registered.region == (asked[0] if asked else None), function.__name__
    assert set(gate.REGISTRY) == {function.__name__ for function in found}


def test_no_query_takes_a_scope_of_its_own():
    """Scope is the gate's: a query with its own `scope` argument would be a second, forgettable check."""
    for function in public_queries():
        assert "scope" not in inspect.signature(function).parameters, function.__name__


def page_modules() -> list[Path]:
    pages = sorted((ROOT / "views").glob("*.py"))
    shared = [path for path in sorted((ROOT / "dashboard").glob("*.py")) if path.name not in NOT_PAGES]
    return pages + shared


def direct_query_imports(path: Path) -> list[str]:
    """Imports in a file that reach query functions without the gate."""
    allowed = {
        name
        for name in queries.__all__
        if name not in gate.REGISTRY
        and name not in {"gate", *(m.__name__.rsplit(".", 1)[1] for m in DOMAINS)}
        and not name.startswith("_")
    }
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if alias.name.startswith("dashboard.queries")]
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "dashboard":
                found += [f"dashboard.{a.name}" for a in node.names if a.name == "queries"]
            elif node.module == "dashboard.queries":
                found += [f"dashboard.queries.{a.name}" for a in node.names if a.name not in allowed]
            elif node.module.startswith("dashboard.queries."):
                found += [f"{node.module}.{a.name}" for a in node.names]
    return found


def test_pages_import_no_query_function_only_the_gate():
    checked = page_modules()
    assert any(path.name == "overview.py" for path in checked)
    assert any(path.name == "panels.py" for path in checked)
    offenders = {str(path.relative_to(ROOT)): direct_query_imports(path) for path in checked}
    assert not {path: names for path, names in offenders.items() if names}


def test_the_import_check_catches_a_direct_import(tmp_path):
    page = tmp_path / "page.py"
    page.write_text(
        "from dashboard import queries\n"
        "from dashboard.queries import kpis, Period\n"
        "from dashboard.queries.population import age_pyramid\n"
        "import dashboard.queries.gate\n",
        encoding="utf-8",
    )
    assert direct_query_imports(page) == [
        "dashboard.queries",
        "dashboard.queries.kpis",
        "dashboard.queries.population.age_pyramid",
        "dashboard.queries.gate",
    ]


def test_the_gate_refuses_an_unregistered_name(demo_db):
    for name in ("cursor", "_fetch_df", "publication", "no_such_query"):
        with pytest.raises(QueryError, match="未登记的查询"):
            Gate(OPERATOR).ask(name, demo_db, "select 1")


def test_a_region_outside_the_scope_is_refused_before_anything_is_read(tmp_path):
    missing = tmp_path / "no.duckdb"  # nothing to read: a refusal proves the check came first
    for name, args in [
        ("kpis", ("500103", "2024-01-01", "2024-12-31")),
        ("kpis_with_previous", ("50", "2024-01-01", "2024-12-31")),
        ("age_pyramid", ("500103001", "2024-12-31")),
        ("boundaries", (["500153001", "500103001"],)),
        ("region_names", (["500103"],)),
    ]:
        with pytest.raises(OutOfScope, match="^无权查看"):
            Gate(DISTRICT).ask(name, missing, *args)
    with pytest.raises(QueryError, match="数据库不存在"):
        Gate(DISTRICT).ask("kpis", missing, "500153", "2024-01-01", "2024-12-31")


def test_out_of_scope_is_its_own_error_and_not_an_unknown_region(demo_db):
    with pytest.raises(OutOfScope):
        Gate(DISTRICT).ask("region", demo_db, "500103")
    with pytest.raises(QueryError) as unknown:
        Gate(DISTRICT).ask("region", demo_db, "500153999")
    assert not isinstance(unknown.value, OutOfScope)
    assert "不存在" in str(unknown.value)


def test_nobody_gets_nothing(demo_db):
    with pytest.raises(QueryError):
        Gate(None).ask("build_info", demo_db)  # type: ignore[arg-type]


def test_inside_the_scope_the_gate_answers_as_the_query(demo_db):
    start, end = "2024-01-01", "2024-12-31"
    assert Gate(DISTRICT).ask("kpis", demo_db, "500153", start, end) == queries.kpis(
        demo_db, "500153", start, end
    )
    ranking = Gate(DISTRICT).ask("ranking", demo_db, "500153", start, end)
    assert ranking.equals(queries.ranking(demo_db, "500153", start, end))
    assert ranking["code"].str.startswith("500153").all() and len(ranking) > 1


def test_the_path_above_the_scope_is_not_given(demo_db):
    township = str(queries.children(demo_db, "500153")["code"].iloc[0])
    grid = queries._fetch_df(
        demo_db,
        "select min(code) as code from regions where level = 'grid' and code like ?",
        [f"{township}%"],
    )["code"].iloc[0]
    path = Gate(Principal("town", "viewer", township, "password")).ask("ancestors", demo_db, grid)
    assert list(path["code"]) == [township, grid[:12], grid]
    assert list(Gate(OPERATOR).ask("ancestors", demo_db, grid)["code"]) == [
        "50",
        "500153",
        township,
        grid[:12],
        grid,
    ]
