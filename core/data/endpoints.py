"""What a pooled study measured: its endpoint and (for an HR) its adjustment, in words.

Everything here is read from the outcome rows (``endpoint_as_reported``, ``adjustment``), never
invented: a known endpoint name (OS, HCC-related mortality, DFS, RFS, HCC recurrence; case and
separators ignored) gets its plain-language event, any other name is shown as reported, and an
empty one stands for the outcome column's own endpoint (OS = overall survival, DFS =
disease-free survival, as ``data/README.md`` defines them). The adjustment of an HR is the
first ``;``-part of ``adjustment`` without brackets ("multivariable Cox"), classed as adjusted,
unadjusted or not stated by its words. An odds ratio is computed here from counts or rates, so
it is never adjusted and only its endpoint defines it.

A *definition* is the endpoint (and for an HR the adjustment class). Its key
``OUTCOME.endpoint[.adjustment]`` (``OS.hcc-related-death.adjusted``, ``DFS.rfs``) is what the
``endpoint`` link key holds to keep one definition in a pool.

>>> endpoint_of("OS", "HCC-related mortality").event
'HCC-related death'
>>> adjustment_of("multivariable Cox; endpoint = HCC-related mortality")
('adjusted', 'multivariable Cox')
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from core import vocab
from core.sanitize import one_line

Adjustment = Literal["adjusted", "unadjusted", "not-stated"]
ADJUSTMENT_WORDS: dict[str, str] = {
    "adjusted": "adjusted",
    "unadjusted": "unadjusted",
    "not-stated": "adjustment not stated",
}
_ADJUSTED = ("multivariable", "multivariate", "adjusted", "psm", "propensity", "matched", "ipw")
_UNADJUSTED = ("univariable", "univariate", "unadjusted", "crude")
_NOT_STATED = ("not stated", "not reported", "unknown", "not given")
#: Longest endpoint name kept from a sheet (a longer one is cut, with "...").
MAX_NAME = 60


@dataclass(frozen=True)
class Endpoint:
    """One endpoint: link ``slug``, short ``name`` (titles), ``event`` (sentences: "hazard
    of <event>") and whether its name is one this module knows (else shown as reported)."""

    slug: str
    name: str
    event: str
    known: bool = True


#: Known endpoints by their normalised spellings (lower case, separators as one space).
_KNOWN: tuple[tuple[tuple[str, ...], Endpoint], ...] = (
    (
        ("os", "overall survival", "all cause mortality", "all cause death", "death"),
        Endpoint("all-cause-death", "OS", "death from any cause"),
    ),
    (
        (
            "hcc related mortality",
            "hcc related death",
            "hcc specific mortality",
            "hcc specific survival",
            "hcc specific death",
        ),
        Endpoint("hcc-related-death", "HCC-related mortality", "HCC-related death"),
    ),
    (("dfs", "disease free survival"), Endpoint("dfs", "DFS", "recurrence or death")),
    (
        ("rfs", "recurrence free survival", "relapse free survival"),
        Endpoint("rfs", "RFS", "an RFS event (recurrence-free survival)"),
    ),
    (("hcc recurrence",), Endpoint("hcc-recurrence", "HCC recurrence", "HCC recurrence")),
)
_BY_SPELLING = {s: e for spellings, e in _KNOWN for s in spellings}
_DEFAULT_OF_OUTCOME = {"OS": _BY_SPELLING["os"], "DFS": _BY_SPELLING["dfs"]}


def _norm(text: str) -> str:
    return re.sub(r"[\s_\-]+", " ", text.strip().lower()).strip()


def _slug(text: str) -> str:
    """A link-safe slug of a name: lower-case letters, digits and '-' (at most 40)."""
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40].strip("-")
    return slug or "unnamed"


def own_endpoint(code: str, event: str) -> Endpoint:
    """A described outcome's own endpoint: its code as the name, the description's event."""
    return Endpoint(_slug(code), code, event)


def endpoint_of(outcome: str, reported: object, default: Endpoint | None = None) -> Endpoint:
    """The endpoint of an outcome row from its ``endpoint_as_reported`` (empty: the outcome
    column's own endpoint; ``default``: a described outcome's own, also when the row names
    it by its code)."""
    text = "" if reported is None or not isinstance(reported, str) else one_line(reported).strip()
    if default is not None and (not text or _norm(text) == _norm(default.name)):
        return default
    if not text:
        return _DEFAULT_OF_OUTCOME.get(outcome, Endpoint(_slug(outcome), outcome, outcome, False))
    known = _BY_SPELLING.get(_norm(text))
    if known is not None:
        return known
    name = text if len(text) <= MAX_NAME else text[: MAX_NAME - 3].rstrip() + "..."
    return Endpoint(_slug(text), name, f"{name} (as reported)", known=False)


def adjustment_of(text: object) -> tuple[Adjustment, str]:
    """(class, phrase) of an HR's ``adjustment`` cell: the phrase is its first ``;``-part
    without brackets ("multivariable Cox"); "adjustment not stated" when it is empty or says so.
    """
    raw = "" if text is None or not isinstance(text, str) else one_line(text)
    phrase = re.sub(r"\([^)]*\)", "", raw.split(";", 1)[0])
    phrase = re.sub(r"\s+", " ", phrase).strip(" ,.")
    low = phrase.lower()
    if not phrase or any(low.startswith(w) for w in _NOT_STATED):
        return "not-stated", ADJUSTMENT_WORDS["not-stated"]
    words = set(re.split(r"[^a-z]+", low))
    if any(w in words for w in _UNADJUSTED):
        return "unadjusted", phrase
    if any(w in low for w in _ADJUSTED):
        return "adjusted", phrase
    return "not-stated", phrase


@dataclass(frozen=True)
class Definition:
    """One endpoint definition in a pool: the endpoint, the adjustment class (HR only, else
    None), the adjustment phrase its studies share (or the class in words) and its studies."""

    outcome: str
    endpoint: Endpoint
    adjustment: Adjustment | None
    phrase: str | None
    studies: tuple[str, ...]

    @property
    def key(self) -> str:
        """The link value that keeps this definition: ``OS.hcc-related-death.adjusted``."""
        adj = f".{self.adjustment}" if self.adjustment else ""
        return f"{self.outcome}.{self.endpoint.slug}{adj}"

    @property
    def words(self) -> str:
        """'HCC-related mortality, multivariable Cox' or 'RFS'."""
        return self.endpoint.name + (f", {self.phrase}" if self.phrase else "")


def definitions(
    outcome: str,
    measure: str,
    ids: Sequence[str],
    reported: Sequence[object],
    adjustments: Sequence[object],
    default: Endpoint | None = None,
) -> tuple[Definition, ...]:
    """The definitions among studies ``ids`` (with their ``endpoint_as_reported`` and
    ``adjustment`` cells), in order of first appearance; ``default``: the outcome's own
    endpoint when a description names it (:func:`own_endpoint`)."""
    groups: dict[tuple[str, Adjustment | None], list[tuple[str, str]]] = {}
    ends: dict[str, Endpoint] = {}
    for sid, rep, adj in zip(ids, reported, adjustments, strict=True):
        ep = endpoint_of(outcome, rep, default)
        ends.setdefault(ep.slug, ep)
        cls: Adjustment | None = None
        phrase = ""
        if measure == "HR":
            cls, phrase = adjustment_of(adj)
        groups.setdefault((ep.slug, cls), []).append((str(sid), phrase))
    out = []
    for (slug, kind), members in groups.items():
        phrases = {p for _, p in members}
        words: str | None = None
        if kind is not None:
            words = phrases.pop() if len(phrases) == 1 else ADJUSTMENT_WORDS[kind]
        studies = tuple(s for s, _ in members)
        out.append(Definition(outcome, ends[slug], kind, words, studies))
    return tuple(out)


def matches(definition: Definition, kept: Iterable[str]) -> bool:
    """Whether a definition is among the ``kept`` link values (``OUTCOME.endpoint`` keeps it
    with any adjustment; an odds ratio's definition ignores an adjustment part)."""
    for value in kept:
        parts = value.split(".")
        if len(parts) < 2 or parts[0] != definition.outcome:
            continue
        if parts[1] != definition.endpoint.slug:
            continue
        if len(parts) == 2 or definition.adjustment is None:
            return True
        if parts[2] == definition.adjustment:
            return True
    return False


def effect_words(defs: Sequence[Definition], measure: str, years: float | None) -> str:
    """What a pool's ratio is of: 'Hazard ratio for HCC-related death, multivariable Cox',
    'Odds ratio of 2-year OS', 'Risk difference of 2-year OS', or with several definitions
    'Odds ratio of 1-year DFS or RFS (mixed endpoint definitions)'."""
    names = _unique(d.endpoint.name for d in defs)
    if measure == "HR":
        events = _unique(d.endpoint.event for d in defs)
        what = events[0] if len(events) == 1 else " or ".join(names)
        phrases = _unique(d.phrase for d in defs if d.phrase)
        text = f"Hazard ratio for {what}"
        if len(phrases) == 1:
            text += f", {phrases[0]}"
    else:
        when = f"{years:g}-year " if years is not None else ""
        text = f"{vocab.title(vocab.MEASURE_NAMES[measure])} of {when}{' or '.join(names)}"
    if len(defs) > 1:
        text += " (mixed endpoint definitions)"
    return text


def mix_sentence(defs: Sequence[Definition], labels: dict[str, str]) -> str:
    """A plain sentence naming each definition in a mixed pool and its studies."""
    parts = []
    for d in defs:
        who = ", ".join(labels.get(s, s) for s in d.studies)
        n = len(d.studies)
        parts.append(f"{d.words} ({n} {'study' if n == 1 else 'studies'}: {who})")
    listed = "; ".join(parts)
    return (
        f"The pooled studies measured different endpoints: {listed}. Pooling them assumes "
        "the treatment acts alike on each; keep one definition to check."
    )


def _unique(items: Iterable[str | None]) -> list[str]:
    out: list[str] = []
    for x in items:
        if x and x not in out:
            out.append(x)
    return out
