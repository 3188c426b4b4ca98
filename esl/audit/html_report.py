"""The audit as one self-contained HTML file: inline CSS and JS, previews as data: URIs.

For each mismatch the report shows what the label shows (its recorded content, rendered
again) next to what it should show (the content due now), so a reviewer sees the shelf
without walking to it. Tables sort by clicking a column head (class, age, ...).

The heading's instant is on the stores' clock when every store audited hangs on one
(a one-store audit always does): the zone named and UTC beside it; stores on several
clocks read it in UTC. Each reason reads its own store's clock (`esl.audit.classify`).
"""

from __future__ import annotations

import base64
from datetime import timedelta
from html import escape
from zoneinfo import ZoneInfoNotFoundError

from esl.audit.classify import LabelVerdict
from esl.audit.gather import GatheredAudit
from esl.local_times import shown_instant
from pricing import PriorPriceBasis
from pricing.products import label_time_zone
from rendering.cache import RenderCache
from rendering.content import LabelContent, content_from_dict
from rendering.display_models import get_display_model
from rendering.errors import RenderingError
from rendering.locale_zones import locale_time_zone
from rendering.render import preview_png

__all__ = ["MAX_PREVIEWS", "PRIOR_BASIS_NAMES", "render_html_report"]

# Previews cost ~1 ms and ~1 kB each; past this many mismatches the rest are listed bare.
MAX_PREVIEWS = 2_000

_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em}
table{border-collapse:collapse;margin:.5em 0}
th,td{border:1px solid #ccc;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#f3f3f3;cursor:pointer;user-select:none}
th.sorted-asc::after{content:" \\25B2"}th.sorted-desc::after{content:" \\25BC"}
td.num{text-align:right}
.cls{font-weight:600;white-space:nowrap}
.stale,.unknown_content,.no_longer_sold,.unbound_showing_price{color:#b00020}
.offline,.low_battery,.unconfirmed{color:#a15c00}
img{image-rendering:pixelated;border:1px solid #999}
.pair{display:flex;gap:.5em;white-space:nowrap}
figure{margin:0}figcaption{font-size:.8em;color:#555}
.ok{color:#1b6e20}
"""

_JS = """
document.querySelectorAll('table.sortable').forEach(function(table){
  table.querySelectorAll('th').forEach(function(th, index){
    th.addEventListener('click', function(){
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      var asc = !th.classList.contains('sorted-asc');
      table.querySelectorAll('th').forEach(function(h){
        h.classList.remove('sorted-asc','sorted-desc');
      });
      th.classList.add(asc ? 'sorted-asc' : 'sorted-desc');
      function key(row){
        var cell = row.cells[index];
        var value = cell.getAttribute('data-sort');
        if (value === null) { value = cell.textContent; }
        var number = parseFloat(value);
        return isNaN(number) ? value.toLowerCase() : number;
      }
      rows.sort(function(a, b){
        var x = key(a), y = key(b);
        if (x < y) { return asc ? -1 : 1; }
        if (x > y) { return asc ? 1 : -1; }
        return 0;
      });
      rows.forEach(function(row){ body.appendChild(row); });
    });
  });
});
"""


def _age_text(age: timedelta | None) -> str:
    if age is None:
        return "-"
    seconds = int(age.total_seconds())
    if seconds < 0:
        return "-"
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes = rest // 60
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min"


class _Previews:
    """PNG data URIs of recorded and due contents, each distinct image drawn once."""

    def __init__(self, gathered: GatheredAudit, *, locale: str) -> None:
        self._gathered = gathered
        self._locale = locale
        self._cache = RenderCache(max_labels=MAX_PREVIEWS * 2)
        self._uris: dict[tuple[str, str, str], str] = {}

    def _uri(self, content: LabelContent, model_id: str) -> str | None:
        try:
            model = get_display_model(model_id)
            # A preview shows what a label shows, lawful or not: finding the unlawful
            # ones is what the audit is for.
            rendered = self._cache.render(content, model=model, allow_unlawful=True)
        except (RenderingError, KeyError):
            return None
        key = rendered.key
        uri = self._uris.get(key)
        if uri is None:
            encoded = base64.b64encode(preview_png(rendered.image)).decode("ascii")
            uri = self._uris[key] = f"data:image/png;base64,{encoded}"
        return uri

    def shown(self, verdict: LabelVerdict) -> str | None:
        data = self._gathered.shown_contents.get(verdict.shown_hash or "")
        model = self._gathered.models.get(verdict.label_id)
        if data is None or model is None:
            return None
        try:
            content = content_from_dict(data)
        except RenderingError:
            return None
        return self._uri(content, model)

    def expected(self, verdict: LabelVerdict) -> str | None:
        due = self._gathered.due.get(verdict.label_id)
        model = self._gathered.models.get(verdict.label_id)
        catalogue = self._gathered.catalogue
        product = catalogue.products.get(verdict.sku)
        if due is None or model is None or product is None:
            return None
        store = catalogue.stores.get(verdict.store)
        content = LabelContent.from_resolved(
            product=product,
            price=due,
            store=store,
            locale=self._locale,
            timezone=label_time_zone(store, self._gathered.time_zone),
        )
        return self._uri(content, model)


def _figure(uri: str | None, caption: str) -> str:
    if uri is None:
        return f"<figure><em>no image</em><figcaption>{escape(caption)}</figcaption></figure>"
    return (
        f'<figure><img alt="{escape(caption)}" src="{uri}">'
        f"<figcaption>{escape(caption)}</figcaption></figure>"
    )


def _money(value: object) -> str:
    return "-" if value is None else escape(str(value))


# What an auditor reads for each rule a prior price may come from (the console too).
PRIOR_BASIS_NAMES = {
    PriorPriceBasis.LOWEST_30_DAYS: "30-day low",
    PriorPriceBasis.LOWEST_SINCE_ON_SALE: "lowest since launch",
    PriorPriceBasis.BEFORE_FIRST_REDUCTION: "before first reduction",
}


def _prior(amount: object, basis: PriorPriceBasis | None) -> str:
    if amount is None or basis is None:
        return _money(amount)
    return f"{_money(amount)} ({PRIOR_BASIS_NAMES[basis]})"


def _audited_at(gathered: GatheredAudit, *, locale: str) -> str:
    """The audit's instant as its heading says it: "2026-12-07 12:02:03 Europe/Warsaw
    (+01:00), that is 2026-12-07 11:02:03 UTC" when every store audited hangs on that
    clock (its own zone, else the installation's, else the locale's: the zone its labels
    date in); in UTC when they hang on several, or on none this machine knows."""
    at = gathered.report.at
    zones = {
        label_time_zone(gathered.catalogue.stores.get(summary.store), gathered.time_zone)
        or locale_time_zone(locale)
        for summary in gathered.report.stores
    }
    if len(zones) == 1:
        (zone,) = zones
        if zone is not None:
            try:
                return shown_instant(at, zone)
            except (ZoneInfoNotFoundError, ValueError):
                pass
    return shown_instant(at, "UTC")


def render_html_report(gathered: GatheredAudit, *, locale: str) -> str:
    report = gathered.report
    previews = _Previews(gathered, locale=locale)
    at = report.at
    audited_at = escape(_audited_at(gathered, locale=locale))
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Shelf price audit {audited_at}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>Shelf price audit at {audited_at}</h1>",
        "<p>Offline after "
        f"{_age_text(report.thresholds.offline_after)}; low battery under "
        f"{report.thresholds.low_battery_mv} mV. Classes and their order: docs/audit.md.</p>",
        "<h2>Summary per store</h2>",
        '<table class="sortable" id="stores"><thead><tr><th>Store</th><th>Labels</th>'
        "<th>Mismatches</th>",
    ]
    classes = list(report.stores[0].counts) if report.stores else []
    parts += [f"<th>{escape(name)}</th>" for name in classes]
    parts.append(
        '<th title="Sold at this store\'s till (a store price), no label bound in the store">'
        "Unlabelled products at the till</th><th>Prior-price problems</th></tr></thead><tbody>"
    )
    for summary in report.stores:
        cells = [
            f"<td>{escape(summary.store)}</td>",
            f'<td class="num">{summary.labels}</td>',
            f'<td class="num">{summary.mismatches}</td>',
            *(f'<td class="num">{summary.counts[name]}</td>' for name in classes),
            f'<td data-sort="{len(summary.unlabelled_products)}">'
            f"{escape(', '.join(summary.unlabelled_products)) or '-'}</td>",
            f'<td class="num">{summary.prior_price_problems}</td>',
        ]
        parts.append("<tr>" + "".join(cells) + "</tr>")
    parts.append("</tbody></table>")

    mismatches = report.mismatches()
    parts.append(f"<h2>Mismatches ({len(mismatches)})</h2>")
    if not mismatches:
        parts.append('<p class="ok">Every shelf shows the price due.</p>')
    else:
        parts.append(
            '<table class="sortable" id="mismatches"><thead><tr><th>Class</th><th>Age</th>'
            "<th>Store</th><th>Label</th><th>SKU</th><th>Shows</th><th>Due</th><th>Web</th>"
            "<th>Reason</th><th>Label shows / should show</th></tr></thead><tbody>"
        )
        for index, verdict in enumerate(mismatches):
            age = verdict.age(at)
            name = verdict.audit_class.value
            if index < MAX_PREVIEWS:
                images = (
                    '<div class="pair">'
                    + _figure(previews.shown(verdict), "shows")
                    + _figure(previews.expected(verdict), "due")
                    + "</div>"
                )
            else:
                images = "<em>preview limit reached</em>"
            age_key = f"{age.total_seconds():.0f}" if age is not None else "-1"
            parts.append(
                f'<tr><td class="cls {name}">{escape(name)}</td>'
                f'<td data-sort="{age_key}">{_age_text(age)}</td>'
                f"<td>{escape(verdict.store)}</td><td>{escape(verdict.label_id)}</td>"
                f"<td>{escape(verdict.sku)}</td><td>{_money(verdict.shown_price)}</td>"
                f"<td>{_money(verdict.due_price)}</td><td>{_money(verdict.web_price)}</td>"
                f"<td>{escape(verdict.reason)}</td><td>{images}</td></tr>"
            )
        parts.append("</tbody></table>")

    differences = [v for v in report.labels if v.audit_class.value == "intended_difference"]
    parts.append(f"<h2>Intended differences from the web ({len(differences)})</h2>")
    if differences:
        parts.append(
            '<table class="sortable" id="differences"><thead><tr><th>Store</th><th>Label</th>'
            "<th>SKU</th><th>Shelf</th><th>Web</th><th>Rule</th></tr></thead><tbody>"
        )
        for verdict in differences:
            parts.append(
                f"<tr><td>{escape(verdict.store)}</td><td>{escape(verdict.label_id)}</td>"
                f"<td>{escape(verdict.sku)}</td><td>{_money(verdict.due_price)}</td>"
                f"<td>{_money(verdict.web_price)}</td><td>{escape(verdict.rule or '')}</td></tr>"
            )
        parts.append("</tbody></table>")

    problems = report.prior_price_problems
    parts.append(f"<h2>Prior-price problems ({len(problems)})</h2>")
    if problems:
        parts.append(
            '<table class="sortable" id="prior-prices"><thead><tr><th>Store</th><th>Label</th>'
            "<th>SKU</th><th>Price</th><th>Prior shown</th><th>Prior due (ledger)</th>"
            "</tr></thead><tbody>"
        )
        for problem in problems:
            parts.append(
                f"<tr><td>{escape(problem.store)}</td><td>{escape(problem.label_id)}</td>"
                f"<td>{escape(problem.sku)}</td><td>{_money(problem.shown_price)}</td>"
                f"<td>{_prior(problem.shown_prior, problem.shown_basis)}</td>"
                f"<td>{_prior(problem.expected_prior, problem.expected_basis)}</td></tr>"
            )
        parts.append("</tbody></table>")
    else:
        parts.append(
            '<p class="ok">Every announced reduction shows the prior price due, under its '
            "caption (the 30-day low; for a new product the lowest since launch; for a "
            "perishable one the price before the first reduction).</p>"
        )
    parts.append(f"<script>{_JS}</script></body></html>")
    return "\n".join(parts)
