"""The policy file (TOML): what DESIGN.md shows loads; every bad file is a clear error."""

from __future__ import annotations

from pathlib import Path

import pytest
from store_factories import make_request

from hitl_widget.dashboard.policy_file import DEFAULT_POLICY, Policy, PolicyError, Rule, load
from hitl_widget.dashboard.store import Store, open_store

DESIGN_EXAMPLE = """
[risk.high]
approvals = 2
roles = ["ops"]

[risk.critical]
approvals = 1
roles = ["manager"]
"""


def write(tmp_path: Path, text: str | bytes) -> Path:
    p = tmp_path / "policy.toml"
    if isinstance(text, bytes):
        p.write_bytes(text)
    else:
        p.write_text(text, encoding="utf-8")
    return p


def test_the_design_example(tmp_path: Path) -> None:
    policy = load(write(tmp_path, DESIGN_EXAMPLE))
    assert policy.rule_for("high") == Rule(2, ("ops",))
    assert policy.rule_for("critical") == Rule(1, ("manager",))
    assert policy.rule_for("low") == Rule(1, ()) == policy.default
    assert DEFAULT_POLICY.rule_for("anything") == Rule(1, ())


def test_default_table_and_empty_file(tmp_path: Path) -> None:
    policy = load(write(tmp_path, '[default]\napprovals = 2\nroles = ["ops", "ops"]\n'))
    assert policy.default == Rule(2, ("ops",)) and policy.rule_for("high") == Rule(2, ("ops",))
    assert load(write(tmp_path, "")) == Policy()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[risk.high\napprovals = 2", "not valid TOML"),
        ("[risk.high]\napprovals = 0", "approvals must be an integer from 1 to 100"),
        ("[risk.high]\napprovals = 2.5", "approvals must be an integer"),
        ("[risk.high]\napprovals = true", "approvals must be an integer"),
        ("[risk.high]\napprovals = 101", "from 1 to 100"),
        ('[risk.high]\napprovals = "2"', "approvals must be an integer"),
        ('[risk.high]\nroles = "ops"', "roles must be a list"),
        ('[risk.high]\nroles = [""]', "roles must be a list"),
        ("[risk.high]\nroles = [1]", "roles must be a list"),
        ("[risk.high]\napproval = 2", "unknown key(s) approval"),
        ("[rsik.high]\napprovals = 2", "unknown table(s) rsik"),
        ("risk = 3", "risk must be tables"),
        ("[risk]\nhigh = 2", "[risk.high] must be a table"),
    ],
)
def test_bad_files_are_clear_errors(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(PolicyError) as exc:
        load(path)
    assert message in str(exc.value) and str(path) in str(exc.value)


def test_missing_and_unreadable(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="policy file not found"):
        load(tmp_path / "nope.toml")
    with pytest.raises(PolicyError, match="not UTF-8"):
        load(write(tmp_path, b"\xff\xfe[risk.high]"))
    with pytest.raises(PolicyError, match="cannot read"):
        load(tmp_path)  # a folder


def test_the_store_copies_the_rule_into_each_request(tmp_path: Path, db: str) -> None:
    policy = load(write(tmp_path, DESIGN_EXAMPLE))
    with open_store(db, policy=policy) as store:
        high = make_request(store, risk="high")
        low = make_request(store, risk="low")
        assert (high.approvals_needed, high.roles) == (2, ("ops",))
        assert (low.approvals_needed, low.roles) == (1, ())
        s: Store = store
        s.policy = Policy()  # a later policy applies to later requests only
        again = make_request(store, risk="high")
        assert (again.approvals_needed, again.roles) == (1, ())
        assert store.get_request(high.id).approvals_needed == 2  # type: ignore[union-attr]


def test_rules_nobody_could_meet_are_named(tmp_path: Path) -> None:
    policy = load(write(tmp_path, DESIGN_EXAMPLE))
    people = [("ann", ("ops",)), ("bob", ("dev",))]
    assert policy.unreachable(people) == [
        "risk high needs 2 approval(s) from people with the role ops, but there are 1",
        "risk critical needs 1 approval(s) from people with the role manager, but there are 0",
    ]
    assert policy.unreachable([*people, ("cat", ("ops", "manager"))]) == []
    assert Policy().unreachable([]) == ["default needs 1 approval(s) from people, but there are 0"]


def test_sqlite_url_form(tmp_path: Path) -> None:
    path = tmp_path / "via-url.db"
    with open_store(f"sqlite:///{path}") as store:
        make_request(store)
    assert path.is_file()
    with open_store(str(path)) as store:
        assert store.schema_version() >= 1  # type: ignore[attr-defined]
