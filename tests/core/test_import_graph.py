"""The house's shape, checked on the import graph (grimp) and the file tree."""

from __future__ import annotations

import grimp

from testkit import REPO

PACKAGES = ("bot", "risk", "strategies")
#: the only modules allowed at the top of bot/: entry points and what every package needs
TOP_LEVEL = {"__init__.py", "__main__.py", "config.py", "config_schema.py", "errors.py", "logging.py"}


def test_no_import_circle() -> None:
    graph = grimp.build_graph(*PACKAGES, exclude_type_checking_imports=True)
    circles = sorted(
        {
            tuple(sorted((module, imported)))
            for module in graph.modules
            for imported in graph.find_modules_directly_imported_by(module)
            if graph.chain_exists(imported, module)
        }
    )
    assert circles == []


def test_no_loose_modules_at_the_top_of_bot() -> None:
    loose = sorted(p.name for p in (REPO / "bot").glob("*.py") if p.name not in TOP_LEVEL)
    assert loose == []


def test_strategies_and_risk_do_not_reach_into_the_daemon_or_the_commands() -> None:
    graph = grimp.build_graph(*PACKAGES, exclude_type_checking_imports=True)
    for layer in ("strategies", "risk"):
        for upper in ("bot.daemon", "bot.commands"):
            assert not graph.chain_exists(importer=layer, imported=upper, as_packages=True), (layer, upper)
