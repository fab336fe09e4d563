"""The page around every view: one inline style sheet, nothing loaded from elsewhere."""

from __future__ import annotations

from html import escape

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:1.5rem;color:#1d2433;max-width:1200px}
h1{font-size:1.4rem;margin:0 0 .2rem} h2{font-size:1.1rem;margin:1.6rem 0 .5rem}
table{border-collapse:collapse;width:100%;font-size:.85rem} td,th{border-bottom:1px solid #dde;padding:.3rem .4rem;text-align:left}
th{background:#f3f5f9} .crit{color:#b00020;font-weight:600} .warn{color:#a15c00} .ok{color:#11703a}
.muted{color:#667} svg{background:#fbfcfe;border:1px solid #dde} form{margin:.5rem 0}
.legend span{margin-right:1rem} a{color:#1f4fbf}
"""


def page(title: str, body: str) -> str:
    return (
        f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{escape(title)}</title>"
        f"<style>{STYLE}</style></head><body>{body}</body></html>"
    )


def table_head(*columns: str) -> str:
    return "<table><tr>" + "".join(f"<th>{c}</th>" for c in columns) + "</tr>"


def login_page(message: str = "") -> str:
    note = f"<p class=crit>{escape(message)}</p>" if message else ""
    return page(
        "Disclosure Ledger: sign in",
        f"""<h1>Disclosure Ledger</h1>{note}
<form method=post action=/login><label>API token <input name=token type=password size=60 autofocus></label>
<button type=submit>Open dashboard</button></form>
<p class=muted>Create a token with <code>ledger token create --role overseer --name NAME</code>.</p>""",
    )
