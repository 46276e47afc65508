"""Shared by the SDK tests: the tools (sync and async, every kind of parameter), a gate with an audit log, audit checks."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Optional

from hitl_widget import ApprovalRequest, AuditLog, Gate, ScriptedApprover

FEEDBACK = "freeze until Monday: refunds over 100 need a manager"


@dataclass
class Ran:
    """What the real functions were called with, and on which thread."""

    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    threads: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, name: str, **arguments: Any) -> None:
        with self.lock:
            self.calls.append((name, arguments))
            self.threads.append(threading.current_thread().name)


def refund_tools(ran: Ran) -> tuple[Callable[..., str], Callable[..., Any]]:
    """``refund`` (sync) and ``refund_async``: defaults, Optional, Literal and a keyword-only parameter."""

    def refund(
        order_id: str,
        amount: float = 10.0,
        *,
        note: Optional[str] = None,  # noqa: UP045 - the Optional spelling is what users write, tested on purpose
        speed: Literal["standard", "express"] = "standard",
    ) -> str:
        """Refund an order to the customer's card."""
        ran.record("refund", order_id=order_id, amount=amount, note=note, speed=speed)
        return f"refunded {amount:g} on {order_id}"

    async def refund_async(
        order_id: str,
        amount: float = 10.0,
        *,
        note: Optional[str] = None,  # noqa: UP045
        speed: Literal["standard", "express"] = "standard",
    ) -> str:
        """Refund an order to the customer's card."""
        ran.record("refund_async", order_id=order_id, amount=amount, note=note, speed=speed)
        return f"refunded {amount:g} on {order_id}"

    return refund, refund_async


def gate_with_audit(tmp_path: Path, approver: Any) -> tuple[Gate, Path]:
    path = tmp_path / "audit.jsonl"
    return Gate(approver=approver, audit=AuditLog(path)), path


def by_amount(limit: float = 100) -> Callable[[ApprovalRequest], Any]:
    """Approve small refunds, reject big ones with feedback naming the order (decided on each call's own arguments)."""
    from hitl_widget import Approve, Reject

    def decide(request: ApprovalRequest) -> Any:
        if request.arguments["amount"] <= limit:
            return Approve()
        return Reject(f"{request.arguments['order_id']}: {FEEDBACK}")

    return decide


def decisions(path: Path) -> list[str]:
    """The decision of every decision record, in order, after checking the chain is intact."""
    assert AuditLog.verify(path), AuditLog.check(path)
    return [r["decision"] for r in AuditLog.records(path) if r.get("type") == "decision"]


def outcomes(path: Path) -> list[str]:
    return [r["status"] for r in AuditLog.records(path) if r.get("type") == "outcome"]


def scripted(*answers: Any, default: Any = None) -> ScriptedApprover:
    return ScriptedApprover(list(answers), default=default)
