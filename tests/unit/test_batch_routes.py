"""A batch review asks each call's own approver (per-function approver=, risk route, gate approver,
default), and an "approve always" is a grant only for the approver that gave it."""

import asyncio
import logging

import pytest

from hitl_widget import Approve, Batch, Gate, Reject, ScriptedApprover
from hitl_widget.approvers import default as default_module


@pytest.fixture(autouse=True)
def no_env_mode(monkeypatch):
    monkeypatch.delenv("HITL_MODE", raising=False)


class Reviewer:
    """A batch-capable approver: records what each review showed, answers with ``answer``."""

    def __init__(self, name, answer=None, *, review=True):
        self.channel = name
        self.answer = answer or Approve()
        self.reviews = []  # one list of call texts per review (or per one-by-one question)
        if not review:
            self.review = None

    def __call__(self, request):
        self.reviews.append([request.call_text()])
        return self.answer

    def review(self, requests):
        self.reviews.append([r.call_text() for r in requests])
        return [self.answer for _ in requests]

    @property
    def seen(self):
        return [text for review in self.reviews for text in review]


class AsyncReviewer(Reviewer):
    async def areview(self, requests):
        await asyncio.sleep(0)
        self.reviews.append([r.call_text() for r in requests])
        return [self.answer for _ in requests]


def _tools(batch, ran, **wipe_options):
    def note(x: str) -> str:
        ran.append(f"note {x}")
        return f"noted {x}"

    def wipe(x: str) -> str:
        ran.append(f"wipe {x}")
        return f"wiped {x}"

    return batch.wrap(note), batch.wrap(wipe, **wipe_options)


@pytest.mark.parametrize("critical_reviews", [True, False], ids=["critical-review", "critical-one-by-one"])
def test_each_call_goes_to_its_risk_route(critical_reviews):
    medium = Reviewer("medium")
    critical = Reviewer("critical", Reject("not prod"), review=critical_reviews)
    batch = Batch(approver=medium, routes={"critical": critical})
    ran = []
    note, wipe = _tools(batch, ran, risk="critical")
    note("a")
    wipe("prod")
    note("b")
    wipe("staging")
    results = batch.review_and_execute()
    assert medium.reviews == [["note(x='a')", "note(x='b')"]]  # one review, only its own calls
    assert critical.seen == ["wipe(x='prod')", "wipe(x='staging')"]
    assert len(critical.reviews) == (1 if critical_reviews else 2)
    assert results == {1: "noted a", 2: "REJECTED: not prod", 3: "noted b", 4: "REJECTED: not prod"}
    assert list(results) == [1, 2, 3, 4]  # run in queue order
    assert ran == ["note a", "note b"]
    assert batch.pending == []


def test_per_function_approver_and_risk_function_route_each_call():
    medium, critical, own = Reviewer("medium"), Reviewer("critical", Reject("too much")), Reviewer("own")
    batch = Batch(
        approver=medium,
        routes={"critical": critical},
        risk=lambda r: "critical" if r.arguments.get("amount", 0) > 100 else "medium",
    )
    ran = []

    @batch.require_approval
    def pay(amount: int) -> str:
        ran.append(amount)
        return f"paid {amount}"

    @batch.require_approval(approver=own)
    def post(text: str) -> str:
        ran.append(text)
        return f"posted {text}"

    pay(5)
    post("hi")
    pay(5000)
    pay(7)
    results = batch.review_and_execute()
    assert medium.reviews == [["pay(amount=5)", "pay(amount=7)"]]
    assert critical.reviews == [["pay(amount=5000)"]]
    assert own.reviews == [["post(text='hi')"]]
    assert results == {1: "paid 5", 2: "posted hi", 3: "REJECTED: too much", 4: "paid 7"}
    assert ran == [5, "hi", 7]


def test_groups_are_asked_in_queue_order_of_their_first_call():
    order = []

    class Recording(Reviewer):
        def review(self, requests):
            order.append(self.channel)
            return super().review(requests)

    medium, critical = Recording("medium"), Recording("critical")
    batch = Batch(approver=medium, routes={"critical": critical})
    note, wipe = _tools(batch, [], risk="critical")
    wipe("1")
    note("2")
    wipe("3")
    batch.review_and_execute()
    assert order == ["critical", "medium"]


def test_async_review_asks_each_calls_own_approver():
    medium = AsyncReviewer("medium")
    critical = AsyncReviewer("critical", Reject("no"))
    own = Reviewer("own", review=False)  # asked one by one, in its own thread
    batch = Batch(approver=medium, routes={"critical": critical})
    ran = []

    async def main():
        note, wipe = _tools(batch, ran, risk="critical")
        post = batch.wrap(lambda text: ran.append(text) or text, approver=own)
        note("a")
        wipe("prod")
        post("p")
        note("b")
        return await batch.areview_and_execute()

    results = asyncio.run(main())
    assert medium.reviews == [["note(x='a')", "note(x='b')"]]
    assert critical.reviews == [["wipe(x='prod')"]]
    assert own.seen == ["<lambda>(text='p')"]
    assert results == {1: "noted a", 2: "REJECTED: no", 3: "p", 4: "noted b"}
    assert ran == ["note a", "p", "note b"]


def test_default_approver_calls_form_one_review(monkeypatch):
    """Calls for the default approver are shown together (a notebook's one review table), the routed one apart."""
    made = []

    def fresh_default():
        made.append(Reviewer(f"default-{len(made)}"))
        return made[-1]

    monkeypatch.setattr(default_module, "default_approver", fresh_default)
    critical = Reviewer("critical")
    batch = Batch(routes={"critical": critical})
    note, wipe = _tools(batch, [], risk="critical")
    note("a")
    wipe("b")
    note("c")
    assert batch.review_and_execute() == {1: "noted a", 2: "wiped b", 3: "noted c"}
    assert [r.reviews for r in made] == [[["note(x='a')", "note(x='c')"]]]
    assert critical.reviews == [["wipe(x='b')"]]


def test_interrupt_in_a_later_group_keeps_every_call_pending():
    class Interrupting(Reviewer):
        def review(self, requests):
            raise KeyboardInterrupt

    medium = Reviewer("medium")
    batch = Batch(approver=medium, routes={"critical": Interrupting("critical")})
    ran = []
    note, wipe = _tools(batch, ran, risk="critical")
    note("a")
    wipe("b")
    with pytest.raises(KeyboardInterrupt):
        batch.review_and_execute()
    assert ran == []
    assert [c.n for c in batch.pending] == [1, 2]


# -- grants: only for the approver that decided, only for the calls routed to it ---------------------------


@pytest.mark.parametrize("scope", ["function", "arguments"])
@pytest.mark.parametrize("review", ["sync", "async"])
def test_always_from_one_routes_review_is_no_grant_for_another_route(scope, review):
    medium = (AsyncReviewer if review == "async" else Reviewer)("medium", Approve(always=scope))
    critical = Reviewer("critical", Reject("no"))
    batch = Batch(approver=medium, routes={"critical": critical})
    ran = []
    same = batch.wrap(lambda x: ran.append(x) or x, risk=lambda r: "critical" if r.arguments["x"] >= 100 else "medium")
    same(1)
    same(100)
    results = asyncio.run(batch.areview_and_execute()) if review == "async" else batch.review_and_execute()
    assert results == {1: 1, 2: "REJECTED: no"}
    assert same(100) == "PENDING_APPROVAL_3"  # the critical route was never granted anything
    assert same(1) == 1  # the medium route's grant holds for its own calls
    assert ran == [1, 1]


class _EverythingToDashboard(Gate):
    """A gate whose approver_for (public, overridable) sends every call to one dashboard."""

    def __init__(self, dashboard, **options):
        super().__init__(**options)
        self.dashboard = dashboard

    def approver_for(self, guard, request):
        return self.dashboard


def test_always_is_credited_only_to_the_approver_that_decided(caplog):
    dashboard = ScriptedApprover(default=Approve(always="function"))
    medium = ScriptedApprover(default=Approve())
    gate = _EverythingToDashboard(dashboard, approver=medium)
    f = gate.wrap(lambda x: x)
    with caplog.at_level(logging.WARNING, logger="hitl_widget"):
        assert f(1) == 1
    assert "not granted" in caplog.text
    assert f(2) == 2
    # the dashboard answered both times: its "always" was not credited to the medium route it does not stand for
    assert [r.arguments for r in dashboard.requests] == [{"x": 1}, {"x": 2}]
    assert medium.requests == []


def test_always_after_an_edit_is_credited_to_the_approver_that_decided_the_edited_call():
    medium = ScriptedApprover([Approve(always="function")])
    critical = ScriptedApprover(default=Reject("no"))
    gate = Gate(approver=medium, routes={"critical": critical}, risk=lambda r: "critical" if r.arguments["x"] > 5 else "medium")
    f = gate.wrap(lambda x: x)
    assert f(1) == 1
    assert f(2) == 2  # granted by medium, for medium's calls
    with pytest.raises(Exception, match="no"):
        f(10)
    assert [r.arguments for r in critical.requests] == [{"x": 10}]
