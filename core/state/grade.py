"""Certainty judgements in the link: the ``grade`` tokens of a ViewState.

A token is ``OUTCOME.domain.rating`` with the rating's spaces written as ``_``: outcome ``OS`` or
``DFS``, a GRADE domain key of :data:`core.vocab.GRADE_DOMAINS`, a rating of
:data:`core.vocab.GRADE_RATINGS`. The link keeps every syntactically valid id (so a token this
version does not understand is reported, not silently dropped); :func:`ratings` reads the valid
ones and :func:`grade_notices` names the others.

>>> grade_token("DFS", "imprecision", "not serious")
'DFS.imprecision.not_serious'
>>> parse_grade_token("DFS.imprecision.not_serious")
('DFS', 'imprecision', 'not serious')
>>> parse_grade_token("DFS.x.serious") is None
True
"""

from __future__ import annotations

from core import vocab
from core.state.view import ViewState


def grade_token(outcome: str, domain: str, rating: str) -> str:
    """The link's form of a rating: ``DFS.imprecision.not_serious``."""
    return f"{outcome}.{domain}.{rating.replace(' ', '_')}"


def parse_grade_token(token: str) -> tuple[str, str, str] | None:
    """``DFS.imprecision.not_serious`` -> (outcome, domain, rating); None when not valid."""
    outcome, _, rest = token.partition(".")
    domain, _, rating = rest.partition(".")
    rating = rating.replace("_", " ")
    if (
        outcome in vocab.OUTCOMES
        and domain in vocab.GRADE_DOMAINS
        and rating in vocab.GRADE_RATINGS
    ):
        return outcome, domain, rating
    return None


def ratings(state: ViewState) -> dict[tuple[str, str], str]:
    """(outcome, domain) -> rating from the link; invalid tokens are left out (see
    :func:`grade_notices`)."""
    parsed = (parse_grade_token(t) for t in state.grade)
    return {(o, d): r for o, d, r in (p for p in parsed if p is not None)}


def grade_notices(state: ViewState) -> tuple[str, ...]:
    """One "ignored" notice per invalid ``grade`` token in the link (plain text)."""
    bad = [t for t in state.grade if parse_grade_token(t) is None]
    return tuple(
        f"Certainty judgements (grade): {t[:40]}{'…' if len(t) > 40 else ''} is not "
        "OUTCOME.domain.rating (e.g. DFS.imprecision.not_serious); ignored."
        for t in bad
    )


def with_rating(state: ViewState, outcome: str, domain: str, rating: str | None) -> ViewState:
    """``state`` with the rating of (outcome, domain) set; None returns it to the pre-filled one.
    Other tokens, invalid ones included, are kept."""
    prefix = f"{outcome}.{domain}."
    kept = tuple(t for t in state.grade if not t.startswith(prefix))
    if rating is not None:
        kept = (*kept, grade_token(outcome, domain, rating))
    return state.replace(grade=kept)
