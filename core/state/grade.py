"""Certainty judgements in the link: the ``grade`` and ``why`` tokens of a ViewState.

A ``grade`` token is ``OUTCOME.domain.rating`` with the rating's spaces written as ``_``:
outcome ``OS`` or ``DFS``, a GRADE domain key of :data:`core.vocab.GRADE_DOMAINS`, a rating of
:data:`core.vocab.GRADE_RATINGS`. A ``why`` token is ``OUTCOME.domain.reason``: the user's
reason for that judgement, free text on one line. The link keeps every token it can read as
text (so a token this version does not understand is reported, not silently dropped);
:func:`ratings` and :func:`reasons` read the valid ones and :func:`grade_notices` names the
others.

>>> grade_token("DFS", "imprecision", "not serious")
'DFS.imprecision.not_serious'
>>> parse_grade_token("DFS.imprecision.not_serious")
('DFS', 'imprecision', 'not serious')
>>> parse_grade_token("DFS.x.serious") is None
True
"""

from __future__ import annotations

from core import vocab
from core.state.view import ViewState, clean_text


def grade_token(outcome: str, domain: str, rating: str) -> str:
    """The link's form of a rating: ``DFS.imprecision.not_serious``."""
    return f"{outcome}.{domain}.{rating.replace(' ', '_')}"


def why_token(outcome: str, domain: str, reason: str) -> str:
    """The link's form of a reason (key ``why``): ``DFS.imprecision.OIS nearly reached``
    (one line, cut to the link's length limit)."""
    return clean_text(f"{outcome}.{domain}.{reason}")


def _target(token: str) -> tuple[str, str, str] | None:
    """``DFS.imprecision.rest`` -> (outcome, domain, rest); None for an unknown outcome or
    domain, or an empty rest."""
    outcome, _, tail = token.partition(".")
    domain, _, rest = tail.partition(".")
    if outcome in vocab.OUTCOMES and domain in vocab.GRADE_DOMAINS and rest.strip():
        return outcome, domain, rest.strip()
    return None


def parse_grade_token(token: str) -> tuple[str, str, str] | None:
    """``DFS.imprecision.not_serious`` -> (outcome, domain, rating); None when not valid."""
    found = _target(token)
    if found is None or found[2].replace("_", " ") not in vocab.GRADE_RATINGS:
        return None
    return found[0], found[1], found[2].replace("_", " ")


def reasons(state: ViewState) -> dict[tuple[str, str], str]:
    """(outcome, domain) -> the user's reason from the link's ``why`` tokens (valid ones)."""
    given = (_target(t) for t in state.why)
    return {(o, d): r for o, d, r in (g for g in given if g is not None)}


def ratings(state: ViewState) -> dict[tuple[str, str], str]:
    """(outcome, domain) -> rating from the link; invalid tokens are left out (see
    :func:`grade_notices`)."""
    parsed = (parse_grade_token(t) for t in state.grade)
    return {(o, d): r for o, d, r in (p for p in parsed if p is not None)}


def _short(token: str) -> str:
    return token[:40] + ("…" if len(token) > 40 else "")


def grade_notices(state: ViewState) -> tuple[str, ...]:
    """One "ignored" notice per ``grade`` or ``why`` value of the link that cannot be used
    (plain text)."""
    return tuple(
        f"Certainty judgements (grade): {_short(t)} is not OUTCOME.domain.rating "
        "(e.g. DFS.imprecision.not_serious); ignored."
        for t in state.grade
        if parse_grade_token(t) is None
    ) + tuple(
        f"Reasons for certainty judgements (why): {_short(t)} is not OUTCOME.domain.reason "
        "(e.g. OS.indirectness.Same patients as ours); ignored."
        for t in state.why
        if _target(t) is None
    )


def with_judgement(
    state: ViewState, outcome: str, domain: str, rating: str | None, reason: str = ""
) -> ViewState:
    """``state`` with the user's rating and reason for (outcome, domain); rating None returns
    it to the pre-filled one, an empty reason removes it. Other tokens, invalid ones
    included, are kept."""
    prefix = f"{outcome}.{domain}."
    grade = tuple(t for t in state.grade if not t.startswith(prefix))
    why = tuple(t for t in state.why if not t.startswith(prefix))
    if rating is not None:
        grade = (*grade, grade_token(outcome, domain, rating))
    reason = " ".join(reason.split())
    if reason:
        why = (*why, why_token(outcome, domain, reason))
    return state.replace(grade=grade, why=why)
