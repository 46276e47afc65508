"""Pictures for the example notebooks without numpy, pandas or matplotlib (none has a Pyodide wheel on PyPI).

HTML tables and SVG bar charts, shown with ``IPython.display.HTML`` (``show_table``, ``show_bars``),
in JupyterLab's light and dark themes alike: colours come from JupyterLab's CSS variables
(``--jp-ui-font-color1``, ``--jp-border-color2``, ``--jp-brand-color1``, ...) with fallbacks for
other frontends. Every value is HTML-escaped.

- ``table_html(rows, columns=None, caption="")``: a list of dicts (or of tuples with ``columns``) as a table.
- ``bars_svg(items, title="", unit="")``: ``[(label, value), ...]`` as a horizontal bar chart.
- ``audit_rows(path)``: the decisions of a hitl_widget audit log (one row per decision, with its outcome).
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = ["audit_rows", "bars_svg", "show_bars", "show_table", "table_html"]

_TABLE_STYLE = (
    "border-collapse:collapse;font-size:12px;margin:4px 0;"
    "color:var(--jp-ui-font-color1,inherit);font-family:var(--jp-ui-font-family,inherit)"
)
_CELL_STYLE = "border:1px solid var(--jp-border-color2,#8884);padding:3px 8px;text-align:left;vertical-align:top"
_HEAD_STYLE = _CELL_STYLE + ";background:var(--jp-layout-color2,#8882);font-weight:600"
_MARKS = {"✓": "var(--jp-success-color1,#2e7d32)", "✗": "var(--jp-error-color1,#c62828)", "⏸": "var(--jp-warn-color1,#ef6c00)"}


def _cell(value: Any) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)
    escaped = html.escape(text)
    for mark, colour in _MARKS.items():  # status marks in the theme's success/error/warning colours
        if escaped.startswith(mark):
            escaped = f'<span style="color:{colour};font-weight:600">{mark}</span>{escaped[len(mark) :]}'
    return escaped


def table_html(rows: Iterable[Mapping[str, Any] | Sequence[Any]], columns: Sequence[str] | None = None, caption: str = "") -> str:
    """An HTML table of ``rows``: dicts (columns: ``columns``, else every key in first-seen order) or tuples with ``columns``.

    Raises ``ValueError`` for tuple rows without ``columns`` or of another length.
    """
    rows = list(rows)
    if columns is None:
        seen: dict[str, None] = {}
        for row in rows:
            if not isinstance(row, Mapping):
                raise ValueError("rows that are not dicts need columns=")
            seen.update(dict.fromkeys(row))
        columns = list(seen)
    head = "".join(f'<th style="{_HEAD_STYLE}">{html.escape(str(c))}</th>' for c in columns)
    body = []
    for row in rows:
        if isinstance(row, Mapping):
            values = [row.get(c) for c in columns]
        else:
            values = list(row)
            if len(values) != len(columns):
                raise ValueError(f"a row of {len(values)} values for {len(columns)} columns: {values!r}")
        body.append("<tr>" + "".join(f'<td style="{_CELL_STYLE}">{_cell(v)}</td>' for v in values) + "</tr>")
    cap = f'<caption style="text-align:left;font-weight:600;padding:2px 0">{html.escape(caption)}</caption>' if caption else ""
    return f'<table style="{_TABLE_STYLE}">{cap}<thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def bars_svg(items: Sequence[tuple[str, float]], title: str = "", unit: str = "", width: int = 560) -> str:
    """A horizontal bar chart (SVG) of ``[(label, value), ...]``, values >= 0, each bar labelled with its value.

    Raises ``ValueError`` for a negative or non-finite value.
    """
    values = [float(v) for _, v in items]
    if any(not (v >= 0 and v != float("inf")) for v in values):
        raise ValueError(f"bar values must be finite and >= 0: {values}")
    shown_values = [(f"{v:,.0f}" if v == int(v) else f"{v:,.2f}") + (" " + unit if unit else "") for v in values]
    bar_h, gap = 18, 6
    label_w = max([60, *(7 * len(str(label)) + 16 for label, _ in items)])
    value_w = max([40, *(7 * len(text) + 12 for text in shown_values)])  # ~7 px a character at 12 px
    top = 24 if title else 4
    height = top + len(items) * (bar_h + gap) + 4
    peak = max(values, default=0.0) or 1.0
    span = width - label_w - value_w
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="{html.escape(title or "bar chart")}" '
        'style="font-family:var(--jp-ui-font-family,sans-serif);font-size:12px">'
    ]
    if title:
        title_style = "fill:var(--jp-ui-font-color1,currentColor);font-weight:600"
        parts.append(f'<text x="0" y="15" style="{title_style}">{html.escape(title)}</text>')
    for i, ((label, _), value, shown) in enumerate(zip(items, values, shown_values)):
        y = top + i * (bar_h + gap)
        w = max(1.0, span * value / peak)
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 13}" text-anchor="end" style="fill:var(--jp-ui-font-color1,currentColor)">'
            f"{html.escape(str(label))}</text>"
            f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h}" rx="2" style="fill:var(--jp-brand-color1,#1976d2)"/>'
            f'<text x="{label_w + w + 6:.1f}" y="{y + 13}" style="fill:var(--jp-ui-font-color2,currentColor)">'
            f"{html.escape(shown)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _show(markup: str) -> None:
    from IPython.display import HTML, display

    display(HTML(markup))  # type: ignore[no-untyped-call]


def show_table(
    rows: Iterable[Mapping[str, Any] | Sequence[Any]], columns: Sequence[str] | None = None, caption: str = ""
) -> None:
    """Display :func:`table_html` in the notebook."""
    _show(table_html(rows, columns, caption))


def show_bars(items: Sequence[tuple[str, float]], title: str = "", unit: str = "") -> None:
    """Display :func:`bars_svg` in the notebook."""
    _show(bars_svg(items, title, unit))


_DECISION_MARK = {
    "approved": "✓ approved",
    "edited": "✓ edited",
    "auto_approved": "✓ auto-approved",
    "not_required": "✓ not asked",
    "rejected": "✗ rejected",
    "auto_rejected": "✗ auto-rejected",
    "timed_out": "✗ timed out",
    "cancelled": "✗ cancelled",
}


def audit_rows(path: str) -> list[dict[str, Any]]:
    """One row per decision in the audit log at ``path``: call, risk, decision, by, rule, feedback, outcome.

    ``outcome`` is the function's result (``returned: ...``), ``raised: ...``, or empty when it did not run.
    """
    from hitl_widget import AuditLog

    rows: list[dict[str, Any]] = []
    requests: dict[str, dict[str, Any]] = {}
    last_row: dict[str, dict[str, Any]] = {}
    for record in AuditLog.records(path):
        kind = record.get("type")
        if kind == "request" or (kind == "decision" and isinstance(record.get("request"), dict)):
            request = record["request"]
            requests[str(request.get("id"))] = request
        if kind == "decision":
            request_id = str((record.get("request") or {}).get("id") or record.get("request_id"))
            request = requests.get(request_id, {})
            args = ", ".join(f"{k}={v!r}" for k, v in (request.get("arguments") or {}).items())
            row = {
                "call": f"{request.get('function', '?')}({args})",
                "risk": request.get("risk"),
                "decision": _DECISION_MARK.get(str(record.get("decision")), record.get("decision")),
                "by": record.get("by") or record.get("channel"),
                "rule": record.get("rule"),
                "feedback": record.get("feedback") or "",
                "outcome": "",
            }
            context = request.get("context") or {}
            if context:
                row["context"] = "; ".join(f"{k}: {v}" for k, v in context.items())
            rows.append(row)
            last_row[request_id] = row
        elif kind == "outcome":
            found = last_row.get(str(record.get("request_id")))
            if found is not None:
                detail = record.get("result") or record.get("error") or ""
                found["outcome"] = f"{record.get('status')}: {detail}" if detail else str(record.get("status"))
    return rows
