"""Page skeletons and the three ways text from the database is made safe.

- `esc` for HTML (every table cell, title and attribute);
- `plot_text` for strings plotly.js draws (hover text, legend names): plotly
  reads them as a small HTML dialect (`<br>`, `<b>`, `<a href>`), so `<` and
  `&` are escaped too, but not quotes, which plotly would show as `&quot;`;
- `script_json` for the JSON inside `<script>`: `<`, `>` and `&` become
  `\\u003c`-style escapes, so neither `</script>` nor `<!--` can end the
  element early (plotly.io.to_json does the same; this skips its validation,
  which costs seconds on a site of hundreds of charts).
"""

from __future__ import annotations

import html
import json

STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5em auto;max-width:1250px;color:#222;padding:0 1em}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ddd;padding:.25em .6em;text-align:left}
th{background:#f4f4f4}td.num{text-align:right;font-variant-numeric:tabular-nums}
.ok{color:#176f2c}.bad{color:#b00020;font-weight:600}.muted{color:#777}.warn{color:#8a5300}
.tag{font-size:.8em;border:1px solid #8a5300;color:#8a5300;border-radius:3px;padding:0 .3em;margin-left:.3em}
code{background:#f4f4f4;padding:0 .2em}a{color:#0645ad}pre{white-space:pre-wrap;margin:.3em 0;font-size:.85em}
details{margin:.3em 0 1em}
"""

#: Clicking a point opens its link, customdata[0]: the commit or the PR on GitHub, a whole address or one
#: relative to the figure's layout.meta.link (commit links are, so that pages stay small).
CLICK_JS = """function perfbotLinks(gd){gd.on("plotly_click",function(e){var p=e.points&&e.points[0];
var u=p&&p.customdata&&p.customdata[0],m=(gd.layout&&gd.layout.meta)||{};if(!u)return;
if(!/^(https?:\\/\\/|\\.\\.\\/)/.test(u)){if(!m.link)return;u=m.link+u;}window.open(u,"_blank","noopener");});}"""


def esc(value) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def plot_text(value) -> str:
    """Text for plotly to draw: shown as written, never read as markup."""
    text = "" if value is None else str(value)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def script_json(value) -> str:
    """JSON safe inside a <script> element: no `</script>` or `<!--` can end it early."""
    text = json.dumps(value, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def page(title: str, body: str, depth: int = 0, plotly: bool = False) -> str:
    root = "../" * depth
    head = f'<script src="{root}plotly.min.js"></script><script>{CLICK_JS}</script>' if plotly else ""
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{esc(title)}</title>'
        f'<link rel="icon" href="data:,"><style>{STYLE}</style>{head}</head><body>'
        f'<p><a href="{root}index.html">perfbot</a></p><h1>{esc(title)}</h1>{body}</body></html>'
    )


def table(headers: list[str], rows: list[list[str]], numeric: tuple[int, ...] = ()) -> str:
    """Cells are HTML already (escape before); headers are plain text; `numeric` columns align right."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(f'<td class="num">{c}</td>' if i in numeric else f"<td>{c}</td>" for i, c in enumerate(row))
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def link(href: str | None, text: str) -> str:
    """`text` is HTML already; no link when there is no address."""
    return f'<a href="{esc(href)}">{text}</a>' if href else text


def chart(div_id: str, figure: dict, height: int = 660) -> str:
    return (
        f'<div id="{esc(div_id)}" style="height:{height}px"></div>'
        f"<script>Plotly.newPlot({script_json(div_id)},{script_json(figure['data'])},"
        f'{script_json(figure["layout"])},{{"responsive":true,"displaylogo":false}}).then(perfbotLinks);</script>'
    )
