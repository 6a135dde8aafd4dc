"""A pytest plugin for ``make mutate``: the rule tests run before the flow tests.

mutmut runs, for each mutant, the tests that reached the function it changed, in no
set order, and stops at the first failure. The rule tests judge one rule each in
milliseconds and kill most mutants; the flow tests take seconds each. Putting the rule
tests first makes a killed mutant cost a fraction of a second; only a mutant that
survives them pays for the rest.
"""

from __future__ import annotations

import pytest

FIRST = (
    "tests/test_governance_edits_rules.py",
    "tests/test_blob_paths.py",
    "tests/test_s3http_rules.py",
    "tests/test_s3_store_rules.py",
    "tests/test_ci_rules.py",
    "tests/test_hashing.py",
    "tests/test_change_rules.py",
    "tests/test_tree_diff_rules.py",
    "tests/test_promote_rules.py",
    "tests/test_gates.py",
    "tests/test_names_rules.py",
    "tests/test_promotion_rules.py",
    "tests/test_check_rules.py",
)


def _rank(item: pytest.Item) -> int:
    path = item.nodeid.partition("::")[0]
    return FIRST.index(path) if path in FIRST else len(FIRST)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=_rank)  # stable: each file keeps its own order
