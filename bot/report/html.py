"""The HTML report: one self-contained file (inline CSS and SVG, no script, no network).

The markup is also well-formed XML (void elements self-closed, only XML entities),
so it can be checked with a strict parser; every piece of user text goes through `e()`.
"""

from __future__ import annotations

from html import escape

from bot.report.data import DayCount, Report, TopicCount
from bot.report.render import NOT_STORED, day, fmt_ms, fmt_rate

ANSWERED, DECLINED, BAR = "#2f855a", "#dd6b20", "#3182ce"

CSS = """
body{font:15px/1.5 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#1a202c;
 background:#f7fafc;margin:0}
main{max-width:960px;margin:0 auto;padding:24px 16px;box-sizing:border-box}
h1{margin:0 0 4px}h2{margin:32px 0 8px;font-size:1.15em}
.muted{color:#718096}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin-top:16px}
.card{background:#fff;border:1px solid #e2e8f0;border-radius:8px;padding:12px 16px;min-width:130px}
.card b{display:block;font-size:1.6em}
.panel{background:#fff;border:1px solid #e2e8f0;border-radius:8px;padding:16px;
 overflow-wrap:anywhere}
table{border-collapse:collapse;width:100%}td,th{text-align:left;padding:4px 8px;
 border-bottom:1px solid #edf2f7;vertical-align:top}td.n,th.n{text-align:right;width:5.5em}
.chart svg{display:block;width:100%;height:140px}
.axis{display:flex;justify-content:space-between;gap:8px;font-size:12px;color:#4a5568}
.topics{display:grid;grid-template-columns:minmax(0,2fr) minmax(0,3fr) auto;gap:4px 8px;
 align-items:center;font-size:14px}
.topics .bar{height:14px;background:#3182ce;border-radius:2px;min-width:2px}
blockquote{margin:4px 0 0;padding:4px 8px;border-left:3px solid #dd6b20;background:#fffaf0;
 color:#2d3748;font-size:14px}
ol.groups li{margin-bottom:10px}ol.groups ul{margin:4px 0;color:#2d3748}
.legend span{display:inline-block;width:10px;height:10px;margin:0 4px 0 12px}
code{background:#edf2f7;padding:0 4px;border-radius:4px}
svg text{font:11px system-ui,sans-serif;fill:#4a5568}
"""


def e(text: object) -> str:
    """Escape for element text and attribute values alike."""
    return escape(str(text), quote=True)


def render_html(report: Report) -> str:
    title = f"opsbot report — last {report.window}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8"/>',
        '<meta name="viewport" content="width=device-width, initial-scale=1"/>',
        f"<title>{e(title)}</title><style>{CSS}</style></head><body><main>",
        f"<h1>{e(title)}</h1>",
        f'<p class="muted">{e(day(report.since))} to {e(day(report.until))}</p>',
        _cards(report),
        "<h2>Questions per day</h2>",
        f'<div class="panel">{_per_day_chart(report.per_day)}<div class="legend muted">'
        f'<span style="background:{ANSWERED}"></span>answered'
        f'<span style="background:{DECLINED}"></span>declined</div></div>',
        "<h2>Most-asked topics</h2>",
        f'<div class="panel">{_topics_chart(report.topics)}</div>',
        f"<h2>Questions to write docs for ({report.needs_docs} declined or voted not helpful)</h2>",
        f'<div class="panel">{_groups(report)}</div>',
        f"<h2>Questions handed to a person ({len(report.escalations)})</h2>",
        f'<div class="panel">{_escalations(report)}</div>',
        "<h2>Sources voted not helpful most</h2>",
        f'<div class="panel">{_sources(report)}</div>',
        *_knowledge(report),
        "</main></body></html>",
    ]
    return "\n".join(parts) + "\n"


def _escalations(report: Report) -> str:
    if not report.escalations:
        return '<p class="muted">None.</p>'
    items = [
        f"<li>{e(x.question or '(question text not stored)')} "
        f'<span class="muted">({"answered" if x.answered else "declined"}; '
        f"{e(x.channel)} → {e(x.group)}, {e(x.at)})</span></li>"
        for x in report.escalations
    ]
    return "<ul>" + "".join(items) + "</ul>"


def _cards(report: Report) -> str:
    cards = [
        ("Questions", report.total),
        ("Answered", report.answered),
        ("Declined", report.declined),
        ("Answer rate", fmt_rate(report)),
        ("Median latency", fmt_ms(report.latency_median_ms)),
        ("p95 latency", fmt_ms(report.latency_p95_ms)),
        ("Voted helpful 👍", report.votes_up),
        ("Voted not helpful 👎", report.votes_down),
    ]
    body = "".join(f'<div class="card"><b>{e(v)}</b>{e(k)}</div>' for k, v in cards)
    surfaces = ", ".join(f"{k} {v}" for k, v in report.surfaces.items())
    note = f'<p class="muted">By surface: {e(surfaces)}</p>' if surfaces else ""
    return f'<div class="cards">{body}</div>{note}'


def _per_day_chart(days: list[DayCount]) -> str:
    """Stacked bars (answered below declined), one per UTC day. The SVG holds only bars and
    stretches to any width; its labels are HTML, so they never overlap or shrink."""
    if not days:
        return '<p class="muted">No data.</p>'
    height, bar = 100, 10
    width = len(days) * bar
    peak = max((d.answered + d.declined for d in days), default=0) or 1
    scale = height / peak
    out = [
        f'<div class="chart"><div class="axis"><span>{peak} questions</span></div>'
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'preserveAspectRatio="none" role="img" aria-label="Questions per day">',
    ]
    for n, d in enumerate(days):
        x = n * bar
        h_ok, h_no = d.answered * scale, d.declined * scale
        tip = f"{d.day}: {d.answered} answered, {d.declined} declined"
        out.append(f"<g><title>{e(tip)}</title>")
        out.append(_rect(x + 1, height - h_ok, bar - 2, h_ok, ANSWERED))
        out.append(_rect(x + 1, height - h_ok - h_no, bar - 2, h_no, DECLINED))
        out.append("</g>")
    out.append("</svg>")
    labels = [days[0].day] if len(days) == 1 else [days[0].day, days[-1].day]
    out.append('<div class="axis">' + "".join(f"<span>{e(x)}</span>" for x in labels) + "</div>")
    out.append("</div>")
    return "".join(out)


def _topics_chart(topics: list[TopicCount]) -> str:
    """Horizontal bars: how often each document was the best source of an answer."""
    if not topics:
        return '<p class="muted">No answered questions in this window.</p>'
    peak = max(t.count for t in topics)
    rows = []
    for t in topics:
        label = t.title if len(t.title) <= 60 else t.title[:59] + "…"
        width = max(1.0, 100 * t.count / peak)
        shown = _linked(t.url, e(label))
        rows.append(
            f'<span title="{e(t.path)}">{shown}</span>'
            f'<span><span class="bar" style="display:block;width:{width:.1f}%"></span></span>'
            f"<span>{t.count}</span>"
        )
    return f'<div class="topics" role="list" aria-label="Most-asked topics">{"".join(rows)}</div>'


def _rect(x: float, y: float, w: float, h: float, color: str) -> str:
    return f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" fill="{color}"/>'


def _groups(report: Report) -> str:
    if not report.questions_stored:
        return f'<p class="muted">{e(NOT_STORED)}</p>'
    if not report.groups:
        return '<p class="muted">None: every question was answered and nobody voted 👎.</p>'
    items = []
    for g in report.groups:
        closest = f"; closest doc: <code>{e(g.closest)}</code>" if g.closest else ""
        examples = "".join(f"<li>{e(x)}</li>" for x in g.examples)
        answers = "".join(
            f"<blockquote><b>Answer voted 👎 not helpful:</b> {e(a)}</blockquote>"
            for a in g.downvoted_answers
        )
        items.append(
            f'<li><b>{g.size}×</b> <span class="muted">({g.declined} declined, '
            f"{g.downvoted} 👎{closest})</span><ul>{examples}</ul>{answers}</li>"
        )
    return f'<ol class="groups">{"".join(items)}</ol>'


def _knowledge(report: Report) -> list[str]:
    """Each knowledge source: kind, name, last sync, revision, documents, error."""
    if not report.knowledge:
        return []
    rows = "".join(
        f"<tr><td>{e(s['kind'])}</td><td>{e(s['name'])}</td>"
        f"<td>{e(day(s['synced_at'])) if s.get('synced_at') else 'never'}</td>"
        f"<td><code>{e(str(s.get('revision', ''))[:12] or '-')}</code></td>"
        f'<td class="n">{e(s["documents"])}</td><td>{e(s.get("error", ""))}</td></tr>'
        for s in report.knowledge
    )
    head = (
        "<tr><th>Kind</th><th>Source</th><th>Last sync</th><th>Revision</th>"
        '<th class="n">Documents</th><th>Error</th></tr>'
    )
    return ["<h2>Knowledge sources</h2>", f'<div class="panel"><table>{head}{rows}</table></div>']


def _linked(url: str, html: str) -> str:
    """`html` as a link to `url` when it is an http(s) URL (the one answers linked)."""
    if not url.lower().startswith(("https://", "http://")):
        return html
    return f'<a href="{e(url)}">{html}</a>'


def _sources(report: Report) -> str:
    if not report.downvoted_sources:
        return '<p class="muted">No 👎 votes in this window.</p>'
    rows = "".join(
        f'<tr><td class="n">{s.down}</td><td class="n">{s.up}</td>'
        f"<td>{_linked(s.url, e(s.title))}</td><td><code>{e(s.path)}</code></td></tr>"
        for s in report.downvoted_sources
    )
    head = (
        '<tr><th class="n">👎 Not helpful</th><th class="n">👍 Helpful</th>'
        "<th>Document</th><th>Path</th></tr>"
    )
    return f"<table>{head}{rows}</table>"
