"""The dashboard's policy file: per risk level, how many approvals and from which roles.

```toml
[default]            # optional; without it: 1 approval by any approver
approvals = 1
roles = []

[risk.high]
approvals = 2
roles = ["ops"]

[risk.critical]
approvals = 1
roles = ["manager"]
```

A risk without a table gets the default rule. ``roles = []`` (or no ``roles``) means any
approver counts. Unknown keys, a non-positive or non-integer ``approvals`` or a role that is not
a non-empty string are errors (:class:`PolicyError`, naming the file and the key), never ignored.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["DEFAULT_POLICY", "Policy", "PolicyError", "Rule", "load", "parse"]

MAX_APPROVALS = 100


class PolicyError(ValueError):
    """The policy file cannot be read or is not a valid policy; the message says where."""


@dataclass(frozen=True)
class Rule:
    """``approvals``: distinct approvers needed (1..100); ``roles``: roles that count (empty: any)."""

    approvals: int = 1
    roles: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"approvals": self.approvals, "roles": list(self.roles)}


@dataclass(frozen=True)
class Policy:
    """Rules by risk level, and the rule for every other risk."""

    risks: Mapping[str, Rule] = field(default_factory=dict)
    default: Rule = Rule()

    def rule_for(self, risk: str) -> Rule:
        return self.risks.get(risk, self.default)

    def to_json(self) -> dict[str, Any]:
        return {"default": self.default.to_json(), "risk": {k: v.to_json() for k, v in self.risks.items()}}

    def unreachable(self, people: Iterable[tuple[str, Sequence[str]]]) -> list[str]:
        """Rules no request could ever meet with these people (``(name, roles)`` pairs): fewer
        people hold a counting role than the approvals needed. One sentence each, for a warning
        at start (such requests can only be rejected or time out)."""
        people = list(people)
        problems = []
        for label, rule in [("default", self.default), *((f"risk {k}", v) for k, v in self.risks.items())]:
            able = [name for name, roles in people if not rule.roles or set(roles) & set(rule.roles)]
            if len(able) < rule.approvals:
                who = f"people with the role {' or '.join(rule.roles)}" if rule.roles else "people"
                problems.append(f"{label} needs {rule.approvals} approval(s) from {who}, but there are {len(able)}")
        return problems


DEFAULT_POLICY = Policy()


def _rule(table: Any, where: str) -> Rule:
    if not isinstance(table, dict):
        raise PolicyError(f"{where} must be a table (approvals = N, roles = [...])")
    unknown = sorted(set(table) - {"approvals", "roles"})
    if unknown:
        raise PolicyError(f"{where}: unknown key(s) {', '.join(unknown)} (only approvals and roles)")
    approvals = table.get("approvals", 1)
    if isinstance(approvals, bool) or not isinstance(approvals, int) or not 1 <= approvals <= MAX_APPROVALS:
        raise PolicyError(f"{where}.approvals must be an integer from 1 to {MAX_APPROVALS}, not {approvals!r}")
    roles = table.get("roles", [])
    if not isinstance(roles, list) or not all(isinstance(r, str) and r.strip() and r == r.strip() for r in roles):
        raise PolicyError(f"{where}.roles must be a list of role names (non-empty strings), not {roles!r}")
    return Rule(approvals=approvals, roles=tuple(dict.fromkeys(roles)))


def parse(data: Mapping[str, Any], *, source: str = "policy") -> Policy:
    """A :class:`Policy` from already-parsed TOML (a dict); raises :class:`PolicyError`."""
    unknown = sorted(set(data) - {"risk", "default"})
    if unknown:
        raise PolicyError(f"{source}: unknown table(s) {', '.join(unknown)} (only [default] and [risk.NAME])")
    default = _rule(data["default"], f"{source}: [default]") if "default" in data else Rule()
    risk_tables = data.get("risk", {})
    if not isinstance(risk_tables, dict):
        raise PolicyError(f"{source}: risk must be tables [risk.NAME]")
    risks = {name: _rule(table, f"{source}: [risk.{name}]") for name, table in risk_tables.items()}
    return Policy(risks=risks, default=default)


def load(path: str | Path) -> Policy:
    """Read the TOML policy file at ``path``; raises :class:`PolicyError` (missing, unreadable,
    not TOML, or not a valid policy), with the file name and the line or key at fault."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise PolicyError(f"policy file not found: {p}") from None
    except OSError as exc:
        raise PolicyError(f"cannot read policy file {p}: {exc}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise PolicyError(f"{p}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{p}: not valid TOML: {exc}") from None
    return parse(data, source=str(p))
