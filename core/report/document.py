"""One-click report of a view: a self-contained HTML file and a PDF with the same content.

Both are built from one :class:`Report` (:func:`build_report`): the title and disclaimer, the
date, the link, the active filters, per outcome the pooled result with a plain sentence, the
forest plot, the studies not pooled and why, the published meta-analysis's result (bundled
data only), the summary of findings with its certainty ratings, the studies with their sources
and a methods paragraph.

Safety: every piece of data or user text is HTML-escaped; only ``http(s)`` addresses become
links (anything else is shown as text); the HTML carries a Content-Security-Policy that allows
no script and no remote resource, and its figures are SVG inside ``<img>`` data URIs (an image
never runs script). The PDF draws text with DejaVu Sans when the font is installed, else with
Helvetica, non-Latin-1 characters replaced.
"""

from __future__ import annotations

import base64
import html
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from core import fmt
from core.charts.forest import forest_chart
from core.data.dataset import Dataset
from core.data.description import Description, arm_name
from core.data.records import ordered_sources
from core.fmt import count
from core.report.figures import chart_spec, charts_to
from core.report.narrative import (
    KeyNumber,
    described_filters,
    headline,
    key_numbers,
    left_out,
    summary_sentence,
)
from core.report.sof import (
    DOMAINS,
    Override,
    SofRow,
    sof_display,
    sof_frame,
    sof_table,
)
from core.sanitize import LABEL_LIMIT, TITLE_FACTOR, clip, xml_safe
from core.state.view import (
    FIELD_BY_NAME,
    TABLE_MEASURES,
    ViewState,
    model_of,
    zero_cell_words,
)
from core.stats.effects import is_ratio
from core.stats.pooling import COMMON_EFFECT, PI_MIN_K
from core.views.analysis import (
    Analysis,
    OutcomeAnalysis,
    forest_footer,
    forest_frame,
    subgroup_test_text,
    subtotal_text,
)
from core.views.analysis import model_label as _model_label
from core.views.overlap import HOW_IN_LINK, OVERLAP_MARK, overlap_sentence
from core.views.published import published_comparison
from core.vocab import (
    DESIGNS,
    INDICATIONS,
    QUALITY_NOTE,
    REPORT_NOT_ADVICE,
    SOF_QUALITY_NOTE,
    title,
)
from core.vocab import DISCLAIMER as SOF_DISCLAIMER

__all__ = ["Report", "build_report", "report_html", "report_pdf", "safe_url"]

TITLE = "Perioperative radiotherapy for HCC: the pooled evidence"
#: Approximate width of the report's forest plots in CSS pixels (fits A4 portrait at 600).
FOREST_WIDTH = 600
PNG_PPI = 200
PDF_CELL_LIMIT = 600  # characters of one PDF table cell (the full text stays in the data)
FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/TTF"))
_URL = re.compile(r"https?://[^\s<>\"'`\\]+\Z", re.IGNORECASE)


# ---------------------------------------------------------------------------------------
# Content


@dataclass(frozen=True)
class OutcomeSection:
    """One outcome: its numbers, sentence, forest plot spec and the studies not pooled."""

    heading: str
    numbers: tuple[KeyNumber, ...]
    sentence: str
    notes: tuple[str, ...]
    chart: dict[str, Any] | None
    chart_alt: str
    not_pooled: tuple[tuple[str, str], ...]
    published: str | None


@dataclass(frozen=True)
class StudyRow:
    """One study of the view for the study table."""

    label: str
    design: str
    indication: str
    rt: str
    patients: str
    quality: str
    pooled_for: str
    reference: str
    sources: tuple[str, ...]


@dataclass(frozen=True)
class CertaintyBlock:
    """One outcome's certainty: the rating, how it was reached and each domain's reason."""

    title: str
    rating: str
    explanation: str
    domains: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Report:
    """Everything the report shows, as plain text (renderers escape it)."""

    title: str
    disclaimer: str
    created: str
    link: str
    data_source: str
    filters: tuple[str, ...]
    notices: tuple[str, ...]
    outcomes: tuple[OutcomeSection, ...]
    sof: pd.DataFrame
    sof_notes: tuple[str, ...]
    sof_domains: tuple[CertaintyBlock, ...]
    outside: tuple[tuple[str, str], ...]
    studies: tuple[StudyRow, ...]
    published_citation: str | None
    methods: str
    #: the treated and control arms' names (the description's; "RT" and "control" without)
    arms: tuple[str, str] = ("RT", "control")


def _s(value: object) -> str:
    """Text of a cell: '' for missing values, characters no renderer takes made U+FFFD."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    return xml_safe(str(value))


def safe_url(url: str) -> str | None:
    """The address when it is a plain http(s) URL (no spaces, quotes or markup), else None."""
    url = url.strip()
    return url if _URL.match(url) else None


def _labels(studies: pd.DataFrame) -> dict[str, str]:
    return {
        str(sid): _s(label) or str(sid)
        for sid, label in zip(studies["study_id"], studies["label"], strict=True)
    }


def _pi_method_sentence(state: ViewState) -> str:
    """How the report's prediction interval is computed (the default t when the pages hide
    it), and that it needs 3 studies."""
    how = {
        "t": "it uses the t distribution with k − 2 degrees of freedom and the variance "
        "τ² + SE² (Higgins, Thompson & Spiegelhalter 2009; Cochrane Handbook)",
        "z": "it uses the normal distribution and the variance τ² + SE² (metafor's default)",
        "hksj": "it uses the t distribution with k − 1 degrees of freedom and the variance "
        'τ² + SE², SE from Hartung-Knapp (as R meta\'s method.predict = "HK")',
    }
    if state.pi == "0":
        text = how["t"] + " (hidden on the pages; the report shows the default)"
    else:
        text = how[state.pi]
    return f"{text}. There is none with fewer than {PI_MIN_K} studies."


def _numbers(oa: OutcomeAnalysis, state: ViewState) -> tuple[KeyNumber, ...]:
    p = oa.pooled
    if p is None:
        return ()
    nums = list(key_numbers(oa, state, always_pi=True))
    if p.method not in COMMON_EFFECT:
        nums.insert(6, KeyNumber("τ²", fmt.tau2(p.tau2)))
    nums.append(KeyNumber("Model", _model_label(p.method, p.ci)))
    return tuple(nums)


def _section(
    oa: OutcomeAnalysis, state: ViewState, studies: pd.DataFrame, pub: Mapping[str, Any] | None
) -> OutcomeSection:
    notes = []  # oa.message on a single study is already in the sentence
    if oa.message and oa.k > 1:
        notes.append(oa.message)
    if oa.pooled is not None and oa.pooled.note and oa.pooled.k > 1:
        notes.append(f"Note: {oa.pooled.note}")
    overlap = overlap_sentence(oa.overlaps, HOW_IN_LINK)
    if overlap:
        notes.append(overlap)
    if oa.subgroup_test is not None and oa.subgroup_test.df >= 1:  # two subgroups or more
        notes.append(subgroup_test_text(oa.subgroup_test))
        notes += [t for t in (subtotal_text(oa),) if t]
    chart = None
    if not oa.rows.empty:
        frame = forest_frame(oa, state, studies)
        chart = chart_spec(
            forest_chart(
                frame,
                measure_label=oa.short_title,
                width=FOREST_WIDTH,
                footer=forest_footer(oa),
                linear=not is_ratio(oa.measure),
            )
        )
    published = published_comparison(oa, pub)
    return OutcomeSection(
        heading=headline(oa),
        numbers=_numbers(oa, state),
        sentence=summary_sentence(oa, state, studies),
        notes=tuple(notes),
        chart=chart,
        chart_alt=f"Forest plot: {oa.title}",
        not_pooled=left_out(oa, studies),
        published=None if published is None else published.text,
    )


def _study_rows(analysis: Analysis, studies: pd.DataFrame) -> tuple[StudyRow, ...]:
    meta = studies.set_index("study_id")
    used = {
        o: set(oa.rows.loc[oa.rows["included"].astype(bool), "study_id"].astype(str))
        for o, oa in analysis.outcomes.items()
    }
    out = []
    for sid in analysis.selection.ids:
        r = meta.loc[sid]
        n_rt, n_ctl = r["n_rt"], r["n_ctl"]
        patients = "" if pd.isna(n_rt) or pd.isna(n_ctl) else f"{count(n_rt)} vs {count(n_ctl)}"
        score = r["quality_score"]
        pooled = [o for o in analysis.outcomes if sid in used[o]]
        marked = any(sid in s.ids for oa in analysis.outcomes.values() for s in oa.overlaps)
        if sid in analysis.state.exclude:
            pooled_for = "excluded by hand"
        else:
            codes = [analysis.outcomes[o].words.code for o in pooled]
            pooled_for = ", ".join(codes) or ("neither" if len(analysis.outcomes) > 1 else "no")
        out.append(
            StudyRow(
                label=(_s(r["label"]) or sid) + (f" {OVERLAP_MARK}" if marked else ""),
                design=title(DESIGNS.get(_s(r["design"]), _s(r["design"]))),
                indication=title(INDICATIONS.get(_s(r["indication"]), _s(r["indication"]))),
                rt=" ".join(x for x in (_s(r["rt_type"]), _s(r["rt_timing"])) if x),
                patients=patients,
                quality="" if pd.isna(score) else fmt.number(float(score)),
                pooled_for=pooled_for,
                reference=_s(r["doi_or_pmid"]),
                sources=tuple(
                    url  # the study's records (DOI, PubMed) first, then where it was read
                    for _, url in ordered_sources(
                        r["doi_or_pmid"],
                        [u.strip() for u in _s(r["source_urls"]).split(";") if u.strip()],
                    )
                ),
            )
        )
    return tuple(out)


def _sof_domains(rows: list[SofRow]) -> tuple[CertaintyBlock, ...]:
    """Per outcome with a certainty: its rating and each domain's 'rating: why' (sof_frame)."""
    frame = sof_frame(rows)
    out = []
    for row, rec in zip(rows, frame.to_dict("records"), strict=True):
        cert = row.certainty
        if cert is None:
            continue
        domains = tuple((label, str(rec[label])) for label in DOMAINS.values())
        explanation = f"{cert.explanation}. {cert.start_reason}. {cert.pending}".strip()
        out.append(CertaintyBlock(row.title, cert.label, explanation, domains))
    return tuple(out)


def _methods(analysis: Analysis) -> str:
    state = analysis.state
    f = FIELD_BY_NAME
    chosen = model_of(state)
    scale = "risk differences" if state.measure == "RD" else "log ratios"
    if chosen.method == "EE":
        model = f"A common-effect (inverse-variance) model pooled the {scale}."
    elif chosen.method == "BAYES":
        model = (
            "A Bayesian random-effects model (normal-normal hierarchical model, computed by "
            f"numerical integration as R's bayesmeta) pooled the {scale}, with a half-normal "
            f"prior on τ (scale {fmt.number(state.tau_prior)}) and a flat prior on the mean "
            "effect; the "
            "pooled effect is the posterior median with its 95% equal-tailed credible interval."
        )
    elif chosen.method == "MH":
        model = (
            "The Mantel-Haenszel method (a common-effect model, as metafor's rma.mh) pooled "
            "the 2x2 tables; heterogeneity (Q, I²) is computed from the per-study estimates."
        )
    elif chosen.method == "PETO":
        model = (
            "Peto's one-step method (a common-effect model, as metafor's rma.peto) pooled the "
            "2x2 tables as odds ratios."
        )
    else:
        model = (
            f"A random-effects model pooled the {scale} with the "
            f"{f['method'].label(state.method)} ({state.method}) estimator of the "
            "between-study variance τ²."
        )
    ci = (
        "Confidence intervals and p-values use the Hartung-Knapp-Sidik-Jonkman method "
        "(t distribution, k − 1 degrees of freedom)."
        if chosen.ci == "hksj"
        else "Confidence intervals and p-values are Wald-type (normal distribution)."
    )
    if state.method == "BAYES":
        ci = (
            "There are no confidence intervals or p-values: the probability that the mean "
            "effect favours RT (a ratio below 1, a risk difference below 0) is a posterior "
            "probability under the model and its priors."
        )
    parts = [model, ci]
    if chosen.note:
        parts.append(chosen.note)
    if chosen.method not in COMMON_EFFECT:
        parts.append(
            "The 95% prediction interval shows where the effect of a new, similar study is "
            f"expected to lie; {_pi_method_sentence(state)}"
        )
    if state.measure in TABLE_MEASURES:
        oas = list(analysis.outcomes.values())
        words = oas[0].description if oas else None
        treated = arm_name(words)
        control = words.control if words is not None and words.given else "control"
        what = {
            "OR": "Odds ratios compare the odds",
            "RR": "Risk ratios compare the risk",
            "RD": f"Risk differences ({treated} minus {control}, as proportions) compare the risk",
        }[state.measure]
        events = ", ".join(f"{oa.words.event} for {oa.words.code}" for oa in oas)
        times = " and ".join(
            f"{fmt.years(oa.years)} years ({oa.words.code})"
            if oa.years is not None
            else f"the end of follow-up ({oa.words.code}; counts without a time point)"
            for oa in oas
        )
        parts.append(
            f"{what} of an event ({events}) by {times}. Where a study "
            "reports survival rates rather than event counts, events were approximated as "
            "round(n × (1 − rate)), which ignores censoring before that time (marked as "
            f"derived). {zero_cell_words(chosen)} (metafor's add = {fmt.number(chosen.add)}, "
            f'to = "{chosen.to}", drop00 = {"TRUE" if chosen.drop00 else "FALSE"}).'
        )
        if state.tpoint == "interp":
            n_interp = sum(
                int(oa.rows["interpolated"].astype(bool).sum()) for oa in analysis.outcomes.values()
            )
            parts.append(
                "Rates missing at the chosen time were interpolated log-linearly in survival "
                "between the nearest reported years on either side (never extrapolated); "
                f"{n_interp} study {'row was' if n_interp == 1 else 'rows were'} interpolated."
            )
    else:
        parts.append(
            "Hazard ratios enter as ln(HR) with the standard error from the 95% CI, or from "
            "the p-value when no CI is reported."
        )
    if state.overlap == "one":
        parts.append(
            "Studies of one overlap group (cohorts that may share patients) were not pooled "
            "together: one study per group was kept, the one picked by hand or else the largest "
            "by patients in that outcome."
        )
    elif any(oa.overlaps for oa in analysis.outcomes.values()):
        parts.append(
            f"Studies of one overlap group (cohorts that may share patients) were pooled "
            f"together and are marked {OVERLAP_MARK}; their shared patients count more than once."
        )
    parts.append(
        "The statistics are validated against R's metafor package; the app's R script "
        "reproduces this view."
    )
    return " ".join(parts)


def _arms(words: Description | None) -> tuple[str, str]:
    """(treated, control): the description's arms, or the layout's RT and control."""
    if words is None or not words.given:
        return "RT", "control"
    return words.treatment, words.control


def _fmt_created(created: datetime) -> str:
    text = created.strftime("%d %B %Y, %H:%M")
    zone = created.tzname()
    return f"{text} {zone}" if zone else text


def build_report(
    analysis: Analysis,
    state: ViewState,
    dataset: Dataset,
    link: str,
    created: datetime,
    *,
    overrides: Mapping[tuple[str, str], Override] | None = None,
) -> Report:
    """The report's content for ``analysis`` of ``dataset`` (``state``: the view shown;
    ``overrides``: the user's certainty judgements, keyed (outcome, domain))."""
    studies: pd.DataFrame = dataset.studies
    source = _s(dataset.source)
    pub = getattr(dataset, "description", None)
    pub = None if pub is None else pub.published
    rows = sof_table(analysis, studies, overrides=overrides)
    labels = _labels(studies)
    notices: tuple[str, ...] = ()
    if analysis.unknown_excludes:
        notices = (
            "Unknown study ids in the link, ignored: " + ", ".join(analysis.unknown_excludes),
        )
    notices += analysis.notices
    return Report(
        title=_s(getattr(dataset, "description", None) and dataset.description.title) or TITLE,
        disclaimer=REPORT_NOT_ADVICE,
        created=_fmt_created(created),
        link=_s(link),
        data_source=source,
        filters=tuple(described_filters(state, list(analysis.outcomes.values()))),
        arms=_arms(getattr(dataset, "description", None)),
        notices=notices,
        outcomes=tuple(_section(oa, state, studies, pub) for oa in analysis.outcomes.values()),
        sof=sof_display(rows),
        sof_notes=tuple(
            f"Risk {r.untreated}, {r.title}: {r.control.source}." for r in rows if r.control
        )
        + tuple(f"{r.title}: {r.message}" for r in rows if r.message),
        sof_domains=_sof_domains(rows),
        outside=tuple((labels.get(s, s), why) for s, why in analysis.selection.filtered_out),
        studies=_study_rows(analysis, studies),
        published_citation=None if pub is None else _s(pub.get("citation")),
        methods=_methods(analysis),
    )


# ---------------------------------------------------------------------------------------
# HTML

_CSS = """
body{font-family:"DejaVu Sans",Arial,Helvetica,sans-serif;color:#1a1a1a;max-width:60rem;
margin:1.5rem auto;padding:0 1rem;font-size:11pt;line-height:1.4}
h1{font-size:18pt;margin:0 0 .3rem}h2{font-size:14pt;margin:1.6rem 0 .4rem;
border-bottom:1px solid #ccc}h3{font-size:12pt;margin:1rem 0 .3rem}
.disclaimer{background:#f3f3f3;border-left:4px solid #888;padding:.4rem .7rem}
.meta,.note,figcaption{color:#444;font-size:9.5pt}
table{border-collapse:collapse;width:100%;margin:.4rem 0;font-size:9.5pt}
th,td{border:1px solid #bbb;padding:.25rem .4rem;text-align:left;vertical-align:top}
th{background:#eee}.link,ul.sources{overflow-wrap:anywhere}ul.sources{font-size:9pt}
dl.numbers{display:grid;grid-template-columns:repeat(3,max-content minmax(6rem,auto));
gap:.15rem .8rem;margin:.4rem 0}
dl.numbers dt{color:#444}dl.numbers dd{margin:0;font-weight:bold}
figure{margin:.6rem 0}figure img{max-width:100%;height:auto}
a{color:#1a4f8b}
@media print{body{margin:0;max-width:none;font-size:10pt}
section.outcome,figure,tr{break-inside:avoid}h2,h3{break-after:avoid}}
"""
_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


def _e(text: object) -> str:
    return html.escape(_s(text), quote=True)


def _a(url: str, text: str | None = None) -> str:
    """A link when ``url`` is a plain http(s) URL, else the text alone (both escaped)."""
    good = safe_url(url)
    shown = _e(url if text is None else text)
    return f'<a href="{html.escape(good, quote=True)}">{shown}</a>' if good else shown


def _table(head: list[str], rows: list[list[str]]) -> str:
    """A table of already-escaped cell HTML."""
    th = "".join(f"<th>{h}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def _figure(svg: bytes, alt: str) -> str:
    src = "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")
    return f'<figure><img src="{src}" alt="{_e(alt)}"></figure>'


def _charts(rep: Report, fmt: Literal["png", "svg"]) -> list[bytes | None]:
    """Each outcome's forest plot rendered (all in one render process), None where it has none."""
    specs = [sec.chart for sec in rep.outcomes if sec.chart is not None]
    done = iter(charts_to(fmt, list(specs), ppi=PNG_PPI))
    return [next(done) if sec.chart is not None else None for sec in rep.outcomes]


def _html_outcome(sec: OutcomeSection, svg: bytes | None) -> str:
    out = [f'<section class="outcome"><h2>{_e(sec.heading)}</h2>']
    if sec.numbers:
        items = "".join(f"<dt>{_e(n.label)}</dt><dd>{_e(n.value)}</dd>" for n in sec.numbers)
        out.append(f'<dl class="numbers">{items}</dl>')
    out.append(f"<p>{_e(sec.sentence)}</p>")
    out.extend(f'<p class="note">{_e(n)}</p>' for n in sec.notes)
    if svg is not None:
        out.append(_figure(svg, sec.chart_alt))
        out.append(
            "<figcaption>Filled squares: studies pooled (area ∝ weight); hollow squares and † "
            "mark interpolated rates; grey rows are excluded by hand.</figcaption>"
        )
    if sec.published:
        out.append(f"<p><strong>{_e(sec.published)}</strong></p>")
    if sec.not_pooled:
        out.append("<h3>Selected but not pooled</h3>")
        out.append(_table(["Study", "Why not"], [[_e(a), _e(b)] for a, b in sec.not_pooled]))
    out.append("</section>")
    return "".join(out)


#: The study table's columns: header, StudyRow field and the PDF's relative width.
_STUDY_COLUMNS = (
    ("Study", "label", 1.3),
    ("Design", "design", 1.2),
    ("Indication", "indication", 1.3),
    ("RT", "rt", 1.1),
    ("Patients (RT vs control)", "patients", 1.0),
    ("Quality score", "quality", 0.7),
    ("Pooled for", "pooled_for", 0.9),
    ("Reference", "reference", 1.6),
)


def _study_columns(rep: Report) -> list[tuple[str, str, float]]:
    """The study table's columns: the design, indication and RT columns only where some
    study has a value (dat.bcg has none), the arms in the dataset's words."""
    treated, control = rep.arms
    out = []
    for head, name, width in _STUDY_COLUMNS:
        if name in ("design", "indication", "rt") and not any(
            getattr(s, name) for s in rep.studies
        ):
            continue
        if name == "patients":
            head = f"Patients ({treated} vs {control})"
        out.append((head, name, width))
    return out


def _html_study_table(rep: Report) -> str:
    columns = _study_columns(rep)
    rows = [[_e(getattr(s, name)) for _, name, _ in columns] for s in rep.studies]
    head = [h for h, _, _ in columns]
    sources = "".join(
        f"<li>{_e(s.label)}: " + "; ".join(_a(u) for u in s.sources) + "</li>"
        for s in rep.studies
        if s.sources
    )
    return _table(head, rows) + f'<h3>Sources</h3><ul class="sources">{sources}</ul>'


def render_html(rep: Report) -> str:
    """The report as one self-contained HTML document."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(rep.title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{_e(rep.title)}</h1>",
        f'<p class="disclaimer">{_e(rep.disclaimer)}</p>',
        f'<p class="meta">Created {_e(rep.created)}. Data: {_e(rep.data_source)}.</p>',
        f'<p class="meta">Link to this view: <span class="link">{_a(rep.link)}</span></p>',
        "<h2>Active filters and settings</h2><ul>",
        *(f"<li>{_e(x)}</li>" for x in rep.filters),
        "</ul>",
        *(f'<p class="note">{_e(n)}</p>' for n in rep.notices),
        *map(_html_outcome, rep.outcomes, _charts(rep, "svg")),
        "<h2>Summary of findings</h2>",
        f'<p class="note">{_e(SOF_DISCLAIMER)} {_e(SOF_QUALITY_NOTE)}</p>',
        _table(
            [_e(c) for c in rep.sof.columns],
            [[_e(v) for v in r] for r in rep.sof.itertuples(index=False)],
        ),
        *(f'<p class="note">{_e(n)}</p>' for n in rep.sof_notes),
    ]
    for c in rep.sof_domains:
        parts.append(f"<h3>Certainty, {_e(c.title)}: {_e(c.rating)}</h3>")
        parts.append(f"<p>{_e(c.explanation)}</p>")
        parts.append(
            _table(["Domain", "Rating and reason"], [[_e(a), _e(b)] for a, b in c.domains])
        )
    if rep.published_citation:
        parts.append(f'<p class="note">Published meta-analysis: {_e(rep.published_citation)}</p>')
    parts += [
        "<h2>Studies in this view</h2>",
        f'<p class="note">{_e(QUALITY_NOTE)}</p>',
        _html_study_table(rep),
    ]
    if rep.outside:
        parts.append("<h3>Studies outside the filters</h3>")
        parts.append(_table(["Study", "Why"], [[_e(a), _e(b)] for a, b in rep.outside]))
    parts += ["<h2>Methods</h2>", f"<p>{_e(rep.methods)}</p>", "</body></html>"]
    return "\n".join(parts)


def report_html(
    analysis: Analysis,
    state: ViewState,
    dataset: Dataset,
    link: str,
    created: datetime,
    *,
    overrides: Mapping[tuple[str, str], Override] | None = None,
) -> str:
    """The report of a view as a self-contained HTML document (no script, no remote URL)."""
    return render_html(build_report(analysis, state, dataset, link, created, overrides=overrides))


# ---------------------------------------------------------------------------------------
# PDF

_LATIN1 = str.maketrans(
    {
        "–": "-",
        "—": "-",
        "−": "-",
        "’": "'",
        "‘": "'",
        "“": '"',
        "”": '"',
        "τ": "tau",
        "≥": ">=",
        "≤": "<=",
        "∞": "inf",
        "∝": "~",
        "⊕": "+",
        "◯": "o",
        "†": "+",
        "‡": "++",
        "…": "...",
    }
)


def _font_files() -> tuple[Path, Path] | None:
    for folder in FONT_DIRS:
        regular, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
        if regular.is_file() and bold.is_file():
            return regular, bold
    return None


class _Pdf:
    """A thin writer over fpdf2 with the report's fonts and sizes."""

    def __init__(self) -> None:
        from fpdf import FPDF  # imported lazily: only the PDF export needs it

        pdf = FPDF(orientation="P", unit="mm", format="A4")
        pdf.set_margins(15, 15, 15)
        pdf.set_auto_page_break(True, margin=15)
        fonts = _font_files()
        if fonts is not None:
            pdf.add_font("DejaVu", "", str(fonts[0]))
            pdf.add_font("DejaVu", "B", str(fonts[1]))
            self.family, self.unicode = "DejaVu", True
        else:
            self.family, self.unicode = "Helvetica", False
        pdf.add_page()
        self.pdf = pdf

    def t(self, text: object) -> str:
        s = _s(text)
        if self.unicode:
            return s
        return s.translate(_LATIN1).encode("latin-1", "replace").decode("latin-1")

    def font(self, size: float, bold: bool = False) -> None:
        self.pdf.set_font(self.family, "B" if bold else "", size)

    def heading(self, text: str, size: float = 13) -> None:
        pdf = self.pdf
        if pdf.get_y() > pdf.page_break_trigger - 30:
            pdf.add_page()
        pdf.ln(3)
        self.font(size, bold=True)
        heading = clip(self.t(text), LABEL_LIMIT * TITLE_FACTOR)
        pdf.multi_cell(0, size * 0.5, heading, align="L", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1)

    def para(self, text: str, size: float = 10, bold: bool = False) -> None:
        self.font(size, bold)
        self.pdf.multi_cell(0, size * 0.48, self.t(text), align="L", new_x="LMARGIN", new_y="NEXT")
        self.pdf.ln(1)

    def link_line(self, prefix: str, url: str, size: float = 9) -> None:
        from fpdf.enums import WrapMode

        self.font(size)
        good = safe_url(url)
        self.pdf.multi_cell(
            0,
            size * 0.48,
            self.t(prefix + url),
            link=good or "",
            align="L",
            wrapmode=WrapMode.CHAR,
            new_x="LMARGIN",
            new_y="NEXT",
        )

    def table(self, head: list[str], rows: list[list[str]], widths: tuple[float, ...]) -> None:
        from fpdf.fonts import FontFace

        self.font(8)
        with self.pdf.table(
            col_widths=widths,
            text_align="LEFT",
            line_height=3.6,
            headings_style=FontFace(emphasis="BOLD", fill_color=(235, 235, 235)),
            first_row_as_headings=True,
            padding=(0.6, 1.0),
        ) as table:
            table.row([self.t(h) for h in head])
            for r in rows:  # a cell is clipped so a row always fits on one page
                table.row([clip(self.t(c), PDF_CELL_LIMIT) for c in r])
        self.pdf.ln(2)

    def figure(self, png: bytes) -> None:
        from PIL import Image

        with Image.open(io.BytesIO(png)) as im:
            w_px, h_px = im.size
        pdf = self.pdf
        w = w_px / PNG_PPI * 25.4
        h = h_px / PNG_PPI * 25.4
        page_h = pdf.page_break_trigger - pdf.t_margin
        scale = min(1.0, pdf.epw / w, page_h / h)
        w, h = w * scale, h * scale
        if pdf.get_y() + h > pdf.page_break_trigger:
            pdf.add_page()
        pdf.image(io.BytesIO(png), x=pdf.l_margin, w=w, h=h)
        pdf.ln(2)


def render_pdf(rep: Report, *, compress: bool = True) -> bytes:
    """The report as PDF bytes (``compress=False`` leaves page streams readable, for tests)."""
    w = _Pdf()
    w.pdf.set_title(w.t(rep.title))
    w.pdf.compress = compress
    w.para(rep.title, 17, bold=True)
    w.para(rep.disclaimer, 10)
    w.para(f"Created {rep.created}. Data: {rep.data_source}.", 9)
    w.link_line("Link to this view: ", rep.link)
    w.heading("Active filters and settings")
    for line in rep.filters:
        w.para(f"• {line}", 9.5)
    for note in rep.notices:
        w.para(note, 9)
    for sec, png in zip(rep.outcomes, _charts(rep, "png"), strict=True):
        w.heading(sec.heading)
        if sec.numbers:
            w.table(
                [n.label for n in sec.numbers],
                [[n.value for n in sec.numbers]],
                tuple(1.0 for _ in sec.numbers),
            )
        w.para(sec.sentence)
        for note in sec.notes:
            w.para(note, 9)
        if png is not None:
            w.figure(png)
            w.para(
                "Filled squares: studies pooled (area ∝ weight); hollow squares and † mark "
                "interpolated rates; grey rows are excluded by hand.",
                8,
            )
        if sec.published:
            w.para(sec.published, 9.5, bold=True)
        if sec.not_pooled:
            w.heading("Selected but not pooled", 11)
            w.table(["Study", "Why not"], [list(x) for x in sec.not_pooled], (1, 3))
    w.heading("Summary of findings")
    w.para(f"{SOF_DISCLAIMER} {SOF_QUALITY_NOTE}", 8.5)
    w.table(
        list(rep.sof.columns),
        [[str(v) for v in r] for r in rep.sof.itertuples(index=False)],
        (1.3, 1.0, 1.4, 1.0, 1.2, 1.4, 1.3, 1.1),
    )
    for note in rep.sof_notes:
        w.para(note, 8.5)
    for c in rep.sof_domains:
        w.heading(f"Certainty, {c.title}: {c.rating}", 10.5)
        w.para(c.explanation, 9)
        w.table(["Domain", "Rating and reason"], [list(d) for d in c.domains], (1, 4))
    if rep.published_citation:
        w.para(f"Published meta-analysis: {rep.published_citation}", 8.5)
    w.heading("Studies in this view")
    w.para(QUALITY_NOTE, 8.5)
    columns = _study_columns(rep)
    w.table(
        [h for h, _, _ in columns],
        [[getattr(s, name) for _, name, _ in columns] for s in rep.studies],
        tuple(width for _, _, width in columns),
    )
    w.heading("Sources", 11)
    for s in rep.studies:
        w.para(s.label, 9, bold=True)
        for url in s.sources:
            w.link_line("", url, 8)
        w.pdf.ln(1)
    if rep.outside:
        w.heading("Studies outside the filters", 11)
        w.table(["Study", "Why"], [list(x) for x in rep.outside], (1, 3))
    w.heading("Methods")
    w.para(rep.methods, 9.5)
    return bytes(w.pdf.output())


def report_pdf(
    analysis: Analysis,
    state: ViewState,
    dataset: Dataset,
    link: str,
    created: datetime,
    *,
    overrides: Mapping[tuple[str, str], Override] | None = None,
) -> bytes:
    """The report of a view as PDF bytes (figures as 200 ppi PNG)."""
    return render_pdf(build_report(analysis, state, dataset, link, created, overrides=overrides))
