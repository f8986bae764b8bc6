"""Page skeletons. Every piece of text from the database goes through `esc`."""

from __future__ import annotations

import html
import json

STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5em auto;max-width:1200px;color:#222;padding:0 1em}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ddd;padding:.25em .6em;text-align:left}
th{background:#f4f4f4}.ok{color:#176f2c}.bad{color:#b00020;font-weight:600}.muted{color:#777}
code{background:#f4f4f4;padding:0 .2em}a{color:#0645ad}
"""


def esc(value) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def script_json(value) -> str:
    """JSON safe inside a <script> element: no `</script>` or `<!--` can end it early."""
    return json.dumps(value, separators=(",", ":")).replace("<", "\\u003c").replace(">", "\\u003e")


def page(title: str, body: str, depth: int = 0, plotly: bool = False) -> str:
    root = "../" * depth
    head = f'<script src="{root}plotly.min.js"></script>' if plotly else ""
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title>'
            f'<link rel="icon" href="data:,"><style>{STYLE}</style>{head}</head><body>'
            f'<p><a href="{root}index.html">perfbot</a></p><h1>{esc(title)}</h1>{body}</body></html>')


def table(headers: list[str], rows: list[list[str]]) -> str:
    """Cells are HTML already (escape before); headers are plain text."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def chart(div_id: str, figure: dict) -> str:
    return (f'<div id="{esc(div_id)}" style="height:640px"></div>'
            f'<script>Plotly.newPlot({script_json(div_id)}, {script_json(figure["data"])}, '
            f'{script_json(figure["layout"])}, {{"responsive": true}});</script>')
