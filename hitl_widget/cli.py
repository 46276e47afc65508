"""``hitl`` command line: ``hitl audit verify PATH`` and ``hitl audit show PATH``; the dashboard's
``hitl dashboard``, ``hitl users …`` and ``hitl tokens …`` (:mod:`hitl_widget.dashboard.cli`).

Audit exit status: 0 intact, 1 tampered (or unreadable as a log), 2 usage errors. Both audit
commands also list the calls decided to run that have no outcome record (a NOTE; the exit status
stays 0). The dashboard commands: 0 done, 1 refused, 2 usage errors.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import TextIO

from .audit import AuditLog
from .display import json_escape, python_escape, show_hidden

__all__ = ["main"]


def _line(text: str) -> str:
    """One printed line: every character of a record's fields that is not plain visible text
    (terminal escapes, carriage returns and newlines, bidi, zero-width characters, variation
    selectors: ``display.is_hidden``) written as a Python escape, so a field can neither hide
    itself nor redraw or fake other lines."""
    return show_hidden(text, python_escape, keep="")


def _verify(path: str) -> int:
    try:
        result = AuditLog.check(path)
    except FileNotFoundError:
        print(f"hitl: no such file: {path}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"hitl: cannot read {path}: {exc}", file=sys.stderr)
        return 2
    if result.ok:
        print(f"OK: {result.records} records, chain intact, head {result.head}")
        _report_without_outcome(path, sys.stdout)
        return 0
    print(_line(f"TAMPERED: line {result.line}: {result.problem} ({result.records} records verified before it)"))
    return 1


def _report_without_outcome(path: str, stream: TextIO) -> None:
    """Calls decided to run that no outcome record follows: ran unrecorded, stopped, or still running."""
    missing = AuditLog.without_outcome(path)
    if not missing:
        return
    print(
        f"NOTE: {len(missing)} call(s) were decided to run but have no outcome record (the outcome could not be "
        "written and the process ended, the call was stopped, or it is still running):",
        file=stream,
    )
    for item in missing:
        line = f"  seq {item['seq']}  {item['ts']}  {item['request_id']} {item['function']} {item['decision']}"
        print(_line(line), file=stream)


def _show(path: str, as_json: bool) -> int:
    try:
        records = list(AuditLog.records(path))
    except FileNotFoundError:
        print(f"hitl: no such file: {path}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"hitl: cannot read {path}: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"hitl: {path} is not a readable audit log: {exc}", file=sys.stderr)
        return 1
    if not all(isinstance(record, dict) for record in records):
        print(f"hitl: {path} is not an audit log (a line is not a JSON object)", file=sys.stderr)
        return 1
    for record in records:
        if as_json:
            print(show_hidden(json.dumps(record, ensure_ascii=False), json_escape, keep=""))  # the same JSON, escaped
            continue
        kind = record.get("type", "?")
        request = record.get("request") or {}
        function = request.get("function", "")
        parts = [f"{record.get('seq', '?'):>5}", str(record.get("ts", ""))[:23], f"{kind:<8}"]
        if kind == "header":
            parts.append(f"log {record.get('log_id', '')} ({record.get('format', '')})")
        elif kind == "request":
            parts.append(f"{request.get('id', '')} {function} risk={request.get('risk', '')} via {record.get('channel', '')}")
        elif kind == "decision":
            rid = record.get("request_id") or request.get("id", "")
            who = f" by {record['by']}" if record.get("by") else ""
            parts.append(f"{rid} {function} {record.get('decision', '')}{who} [{record.get('rule', '')}]".replace("  ", " "))
            if record.get("feedback"):
                parts.append(f"feedback={record['feedback']!r}")
            if record.get("edit"):
                parts.append(f"edit={json.dumps(record['edit'], ensure_ascii=False)}")
        elif kind == "outcome":
            parts.append(f"{record.get('request_id', '')} {record.get('status', '')} {record.get('duration_ms', '')} ms")
            if record.get("error"):
                parts.append(str(record["error"]))
        elif kind == "interrupted":
            parts.append(f"{record.get('request_id', '')} review interrupted [{record.get('rule', '')}], still pending")
        elif kind == "records_dropped":
            parts.append(f"{record.get('count', '?')} records could not be written and were dropped")
        late = record.get("late")
        if isinstance(late, dict):
            parts.append(f"(written late: it failed at {late.get('ts', '?')} with {late.get('error', '?')})")
        print(_line("  ".join(p for p in parts if p)))
    ok = AuditLog.check(path)
    # with --json the verdict goes to stderr, so stdout stays one JSON record per line
    verdict = sys.stderr if as_json else sys.stdout
    print(_line(f"-- {'chain intact' if ok else f'TAMPERED: line {ok.line}: {ok.problem}'}"), file=verdict)
    _report_without_outcome(path, verdict)
    return 0 if ok else 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hitl", description="hitl_widget tools")
    sub = parser.add_subparsers(dest="command", required=True)
    audit = sub.add_parser("audit", help="inspect an audit log")
    audit_sub = audit.add_subparsers(dest="action", required=True)
    verify = audit_sub.add_parser("verify", help="check the hash chain (exit 1 when tampered)")
    verify.add_argument("path")
    show = audit_sub.add_parser("show", help="print the records")
    show.add_argument("path")
    show.add_argument("--json", action="store_true", help="one JSON record per line")
    from .dashboard.cli import add_parsers  # standard library only until a dashboard command runs

    add_parsers(sub)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return 2 if exc.code not in (0, None) else 0
    if args.command != "audit":
        status: int = args.handler(args)
        return status
    if args.action == "verify":
        return _verify(args.path)
    return _show(args.path, args.json)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
