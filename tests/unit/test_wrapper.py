"""The wrapped function is a true stand-in: name, docs, signature, hints, __code__, async-ness."""

import asyncio
import functools
import inspect
import typing

import pytest

from hitl_widget import Approve, Edit, Gate, InvalidEdit, Reject, ScriptedApprover


def approving_gate(*decisions: object) -> tuple[Gate, ScriptedApprover]:
    approver = ScriptedApprover(list(decisions), default=Approve())  # type: ignore[arg-type]
    return Gate(approver=approver), approver


def delete_user(user_id: int, *, reason: str = "cleanup") -> str:
    """Delete a user.

    Removes the account for good.
    """
    return f"deleted {user_id} ({reason})"


def everything(a: int, b: str = "b", /, c: float = 1.5, *args: int, d: bool, e: str | None = None, **kwargs: int) -> tuple:
    """Every kind of parameter."""
    return (a, b, c, args, d, e, kwargs)


async def fetch(url: str, retries: int = 3) -> str:
    """Fetch a URL."""
    await asyncio.sleep(0)
    return f"{url}:{retries}"


# -- metadata ---------------------------------------------------------------------------


def test_name_qualname_doc_module():
    gate, _ = approving_gate()
    wrapped = gate.wrap(delete_user)
    assert wrapped.__name__ == "delete_user"
    assert wrapped.__qualname__ == delete_user.__qualname__
    assert wrapped.__doc__ == delete_user.__doc__
    assert wrapped.__module__ == delete_user.__module__
    assert wrapped.__wrapped__ is delete_user


def test_signature_and_type_hints_match():
    gate, _ = approving_gate()
    for fn in (delete_user, everything, fetch):
        wrapped = gate.wrap(fn)
        assert inspect.signature(wrapped) == inspect.signature(fn)
        assert typing.get_type_hints(wrapped) == typing.get_type_hints(fn)


@pytest.mark.parametrize("fn", [delete_user, everything, fetch])
def test_code_object_carries_real_parameters(fn):
    gate, _ = approving_gate()
    wrapped = gate.wrap(fn)
    code, real = wrapped.__code__, fn.__code__
    n = (
        real.co_argcount
        + real.co_kwonlyargcount
        + bool(real.co_flags & inspect.CO_VARARGS)
        + bool(real.co_flags & inspect.CO_VARKEYWORDS)
    )
    assert code.co_varnames[:n] == real.co_varnames[:n]
    assert code.co_argcount == real.co_argcount
    assert code.co_posonlyargcount == real.co_posonlyargcount
    assert code.co_kwonlyargcount == real.co_kwonlyargcount
    assert code.co_flags & inspect.CO_VARARGS == real.co_flags & inspect.CO_VARARGS
    assert code.co_flags & inspect.CO_VARKEYWORDS == real.co_flags & inspect.CO_VARKEYWORDS
    assert (wrapped.__defaults__ or ()) == (fn.__defaults__ or ())
    assert (wrapped.__kwdefaults__ or {}) == (fn.__kwdefaults__ or {})


def test_not_a_generic_args_kwargs_wrapper():
    gate, _ = approving_gate()
    wrapped = gate.wrap(delete_user)
    assert wrapped.__code__.co_varnames[:2] == ("user_id", "reason")
    assert wrapped.__code__.co_kwonlyargcount == 1


def test_wrapped_signature_rejects_bad_calls_like_the_original():
    gate, approver = approving_gate()
    wrapped = gate.wrap(delete_user)
    with pytest.raises(TypeError):
        wrapped()  # missing user_id
    with pytest.raises(TypeError):
        wrapped(1, "positional reason")  # reason is keyword-only
    assert approver.requests == []


# -- arguments ------------------------------------------------------------------------


def test_arguments_by_name_with_defaults_applied():
    gate, approver = approving_gate()
    assert gate.wrap(delete_user)(7) == "deleted 7 (cleanup)"
    (request,) = approver.requests
    assert request.function == "delete_user"
    assert request.arguments == {"user_id": 7, "reason": "cleanup"}


def test_every_parameter_kind_is_passed_through():
    gate, approver = approving_gate()
    wrapped = gate.wrap(everything)
    expected = everything(1, "x", 2.5, 4, 5, d=True, e="e", z=9)
    assert wrapped(1, "x", 2.5, 4, 5, d=True, e="e", z=9) == expected
    assert approver.requests[0].arguments == {
        "a": 1,
        "b": "x",
        "c": 2.5,
        "args": (4, 5),
        "d": True,
        "e": "e",
        "kwargs": {"z": 9},
    }


def test_defaults_for_positional_only_and_keyword_only():
    gate, approver = approving_gate()
    wrapped = gate.wrap(everything)
    assert wrapped(1, d=False) == (1, "b", 1.5, (), False, None, {})
    assert approver.requests[0].arguments == {"a": 1, "b": "b", "c": 1.5, "args": (), "d": False, "e": None, "kwargs": {}}


def test_keyword_call_of_positional_or_keyword_parameter():
    gate, approver = approving_gate()
    wrapped = gate.wrap(delete_user)
    assert wrapped(user_id=3, reason="spam") == "deleted 3 (spam)"
    assert approver.requests[0].arguments == {"user_id": 3, "reason": "spam"}


def test_kwargs_key_named_like_positional_only_parameter():
    def f(a, /, **kw):
        return a, kw

    gate, _ = approving_gate()
    assert gate.wrap(f)(1, a=2) == f(1, a=2) == (1, {"a": 2})


def test_runs_with_exactly_the_edited_arguments():
    calls = []

    def transfer(source: str, amount: float, *, note: str = "") -> str:
        calls.append((source, amount, note))
        return "ok"

    gate, approver = approving_gate(Edit({"amount": "12.5", "note": "halved"}))
    assert gate.wrap(transfer)("acct", 25.0) == "ok"
    assert calls == [("acct", 12.5, "halved")]
    assert approver.requests[0].arguments == {"source": "acct", "amount": 25.0, "note": ""}


def test_edit_of_var_positional_and_var_keyword():
    seen = []

    def f(a: int, *rest: int, **opts: str):
        seen.append((a, rest, opts))

    gate, _ = approving_gate(Edit({"rest": ["1", 2], "opts": {"k": "v"}}))
    gate.wrap(f)(0, 9, x="y")
    assert seen == [(0, (1, 2), {"k": "v"})]


def test_rejected_call_never_runs():
    ran = []
    gate, _ = approving_gate(Reject("no"))
    from hitl_widget import ApprovalRejected

    with pytest.raises(ApprovalRejected):
        gate.wrap(lambda: ran.append(1))()
    assert ran == []


def test_exceptions_from_the_function_propagate_unchanged():
    class Boom(Exception):
        pass

    def f():
        raise Boom("inside")

    gate, _ = approving_gate()
    with pytest.raises(Boom, match="inside"):
        gate.wrap(f)()


# -- async ----------------------------------------------------------------------------


def test_async_function_stays_a_coroutine_function():
    gate, _ = approving_gate()
    wrapped = gate.wrap(fetch)
    assert inspect.iscoroutinefunction(wrapped)
    assert inspect.signature(wrapped) == inspect.signature(fetch)
    assert not inspect.iscoroutinefunction(gate.wrap(delete_user))


async def test_async_function_is_awaited_with_approved_arguments():
    gate, approver = approving_gate(Approve(), Edit({"retries": "1"}))
    wrapped = gate.wrap(fetch)
    assert await wrapped("http://a") == "http://a:3"
    assert await wrapped("http://b", retries=5) == "http://b:1"
    assert [r.arguments for r in approver.requests] == [
        {"url": "http://a", "retries": 3},
        {"url": "http://b", "retries": 5},
    ]


async def test_async_rejection_raises_and_does_not_run():
    from hitl_widget import ApprovalRejected

    ran = []

    async def f(x: int) -> None:
        ran.append(x)

    gate, _ = approving_gate(Reject("not now"))
    with pytest.raises(ApprovalRejected, match="not now"):
        await gate.wrap(f)(1)
    assert ran == []


async def test_async_approver_with_async_function():
    async def approver(request):
        await asyncio.sleep(0)
        return Edit({"retries": 0})

    gate = Gate(approver=approver)
    assert await gate.wrap(fetch)("u") == "u:0"


@pytest.mark.threads
def test_async_approver_with_sync_function():
    async def approver(request):
        await asyncio.sleep(0)
        return Approve()

    gate = Gate(approver=approver)
    assert gate.wrap(delete_user)(5) == "deleted 5 (cleanup)"


@pytest.mark.threads
async def test_sync_function_called_inside_a_running_loop_with_async_approver():
    async def approver(request):
        return Approve()

    gate = Gate(approver=approver)
    assert gate.wrap(delete_user)(6) == "deleted 6 (cleanup)"


# -- methods --------------------------------------------------------------------------


def make_account_class(gate: Gate):
    class Account:
        """A bank account."""

        def __init__(self, balance: int) -> None:
            self.balance = balance

        @gate.require_approval
        def withdraw(self, amount: int) -> int:
            """Take money out."""
            self.balance -= amount
            return self.balance

        @gate.require_approval(risk="high")
        async def deposit(self, amount: int) -> int:
            self.balance += amount
            return self.balance

    return Account


def test_method_decorated_in_class_body_receives_self():
    gate, approver = approving_gate()
    Account = make_account_class(gate)
    account = Account(100)
    assert account.withdraw(30) == 70
    assert account.balance == 70
    request = approver.requests[0]
    assert request.arguments == {"self": account, "amount": 30}
    assert Account.withdraw.__name__ == "withdraw"
    assert Account.withdraw.__qualname__.endswith("Account.withdraw")
    assert Account.withdraw.__doc__ == "Take money out."
    assert list(inspect.signature(account.withdraw).parameters) == ["amount"]
    assert list(inspect.signature(Account.withdraw).parameters) == ["self", "amount"]


async def test_async_method_decorated_in_class_body():
    gate, approver = approving_gate()
    Account = make_account_class(gate)
    account = Account(1)
    assert inspect.iscoroutinefunction(Account.deposit)
    assert await account.deposit(2) == 3
    assert approver.requests[0].arguments["self"] is account


def test_self_is_frozen_editing_it_raises_invalid_edit():
    gate, approver = approving_gate()
    Account = make_account_class(gate)
    account, other = Account(100), Account(5)
    approver._script.append(Edit({"self": other}))
    with pytest.raises(InvalidEdit) as info:
        account.withdraw(10)
    assert "self" in info.value.problems
    assert account.balance == 100 and other.balance == 5
    editable = {p.name: p.editable for p in approver.requests[0].parameters}
    assert editable == {"self": False, "amount": True}


def test_method_edit_of_other_argument_keeps_self():
    gate, _ = approving_gate(Edit({"amount": "1"}))
    Account = make_account_class(gate)
    account = Account(10)
    assert account.withdraw(5) == 9


def test_wrapping_a_bound_method():
    gate, approver = approving_gate()

    class Greeter:
        def greet(self, name: str) -> str:
            """Say hi."""
            return f"hi {name}"

    wrapped = gate.wrap(Greeter().greet)
    assert wrapped.__name__ == "greet"
    assert wrapped.__doc__ == "Say hi."
    assert list(inspect.signature(wrapped).parameters) == ["name"]
    assert wrapped("bo") == "hi bo"
    assert approver.requests[0].arguments == {"name": "bo"}


# -- partials and callable instances ----------------------------------------------------


def test_partial_keeps_name_doc_hints():
    gate, approver = approving_gate()
    part = functools.partial(delete_user, reason="gdpr")
    wrapped = gate.wrap(part)
    assert wrapped.__name__ == "delete_user"
    assert wrapped.__doc__ == delete_user.__doc__
    assert inspect.signature(wrapped) == inspect.signature(part)
    hints = typing.get_type_hints(wrapped)
    assert hints["user_id"] is int and hints["return"] is str
    assert wrapped(1) == "deleted 1 (gdpr)"
    assert approver.requests[0].arguments == {"user_id": 1, "reason": "gdpr"}


def test_partial_of_async_function_stays_async():
    gate, _ = approving_gate()
    wrapped = gate.wrap(functools.partial(fetch, retries=9))
    assert inspect.iscoroutinefunction(wrapped)
    assert asyncio.run(wrapped("x")) == "x:9"


def test_callable_instance_keeps_useful_name_doc_hints():
    class Mailer:
        """Sends mail."""

        def __init__(self) -> None:
            self.sent: list[tuple[str, int]] = []

        def __call__(self, to: str, copies: int = 1) -> bool:
            """Send one message."""
            self.sent.append((to, copies))
            return True

    gate, approver = approving_gate(Edit({"copies": "2"}))
    mailer = Mailer()
    wrapped = gate.wrap(mailer)
    assert wrapped.__name__ == "Mailer"
    assert wrapped.__doc__ == "Send one message."
    assert list(inspect.signature(wrapped).parameters) == ["to", "copies"]
    assert typing.get_type_hints(wrapped) == {"to": str, "copies": int, "return": bool}
    assert wrapped("a@b") is True
    assert mailer.sent == [("a@b", 2)]
    assert approver.requests[0].arguments == {"to": "a@b", "copies": 1}


async def test_async_callable_instance():
    class Fetcher:
        async def __call__(self, url: str) -> str:
            return url.upper()

    gate, _ = approving_gate()
    wrapped = gate.wrap(Fetcher())
    assert inspect.iscoroutinefunction(wrapped)
    assert await wrapped("x") == "X"


def test_decorator_forms():
    from hitl_widget import require_approval

    gate, approver = approving_gate()

    @gate.require_approval
    def a(x: int) -> int:
        return x

    @gate.require_approval(risk="high")
    def b(x: int) -> int:
        return -x

    @require_approval(gate=gate)
    def c(x: int) -> int:
        return x * 10

    assert (a(1), b(2), c(3)) == (1, -2, 30)
    assert [r.risk for r in approver.requests] == ["medium", "high", "medium"]


def test_unknown_option_is_a_type_error():
    gate, _ = approving_gate()
    with pytest.raises(TypeError, match="unknown option"):
        gate.wrap(delete_user, tiemout=3)


def test_not_callable_is_a_type_error():
    gate, _ = approving_gate()
    with pytest.raises(TypeError):
        gate.wrap(42)  # type: ignore[arg-type]
