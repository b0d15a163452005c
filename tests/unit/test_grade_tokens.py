"""The ``grade`` tokens of the link (core/state/grade.py): encoding, reading, notices, edits."""

from __future__ import annotations

import doctest

import pytest

from core import vocab
from core.report import sof
from core.state import grade
from core.state.grade import grade_notices, grade_token, parse_grade_token, ratings, with_judgement
from core.state.view import ViewState, encode_query, parse_query


def test_module_doctest() -> None:
    assert doctest.testmod(grade).failed == 0


@pytest.mark.parametrize("outcome", ["OS", "DFS"])
@pytest.mark.parametrize("domain", list(vocab.GRADE_DOMAINS))
@pytest.mark.parametrize("rating", list(vocab.GRADE_RATINGS))
def test_every_rating_round_trips_through_a_link(outcome: str, domain: str, rating: str) -> None:
    state = with_judgement(ViewState(), outcome, domain, rating)
    again = parse_query(encode_query(state))
    assert again.notices == ()
    assert again.state == state
    assert ratings(again.state) == {(outcome, domain): rating}
    assert grade_notices(again.state) == ()


def test_token_text_is_the_documented_format() -> None:
    assert grade_token("DFS", "imprecision", "not serious") == "DFS.imprecision.not_serious"
    assert grade_token("OS", "rob", "very serious") == "OS.rob.very_serious"
    state = with_judgement(ViewState(), "DFS", "imprecision", "not serious")
    assert encode_query(state) == "v=2&grade=DFS.imprecision.not_serious"


@pytest.mark.parametrize(
    "token",
    [
        "OS",
        "OS.rob",
        "OS.rob.",
        "os.rob.serious",  # outcomes are upper case in tokens
        "OS.Rob.serious",
        "OS.bias.serious",
        "OS.rob.not_assessed",  # the table's own ratings are not a user's choice
        "DFS.imprecision.notserious",
        "PFS.rob.serious",
        "OS.rob.serious.extra",
    ],
)
def test_invalid_tokens_are_not_read(token: str) -> None:
    assert parse_grade_token(token) is None


def test_invalid_tokens_stay_in_the_state_and_are_named_once() -> None:
    parsed = parse_query("grade=OS.rob.very_serious&grade=DFS.x.y&grade=OS.nonsense.serious")
    state = parsed.state
    assert state.grade == ("DFS.x.y", "OS.nonsense.serious", "OS.rob.very_serious")
    assert ratings(state) == {("OS", "rob"): "very serious"}
    notices = grade_notices(state)
    assert len(notices) == 2
    assert notices[0] == (
        "Certainty judgements (grade): DFS.x.y is not OUTCOME.domain.rating "
        "(e.g. DFS.imprecision.not_serious); ignored."
    )
    assert "OS.nonsense.serious" in notices[1]


def test_a_token_with_a_space_is_not_a_valid_link_value() -> None:
    parsed = parse_query("grade=DFS.imprecision.not%20serious")
    assert parsed.state.grade == ()
    assert len(parsed.notices) == 1


def test_long_invalid_token_is_shortened_in_its_notice() -> None:
    token = "OS." + "a" * 60
    (notice,) = grade_notices(ViewState(grade=(token,)))
    assert token[:40] + "…" in notice
    assert token not in notice


def test_with_judgement_replaces_and_clears_one_domain_only() -> None:
    state = parse_query("grade=OS.rob.serious&grade=DFS.rob.serious&grade=bad.token").state
    changed = with_judgement(state, "OS", "rob", "very serious")
    assert changed.grade == ("DFS.rob.serious", "OS.rob.very_serious", "bad.token")
    assert ratings(changed) == {("OS", "rob"): "very serious", ("DFS", "rob"): "serious"}
    cleared = with_judgement(changed, "OS", "rob", None)
    assert cleared.grade == ("DFS.rob.serious", "bad.token")
    assert with_judgement(cleared, "OS", "inconsistency", None) == cleared


def test_tokens_cover_the_summary_of_findings_vocabulary() -> None:
    """The codec accepts exactly the domains and ratings the summary of findings offers."""
    assert tuple(sof.DOMAINS) == tuple(vocab.GRADE_DOMAINS)
    assert sof.CHOICES == vocab.GRADE_RATINGS
    assert tuple(sof.EVENTS) == tuple(vocab.OUTCOMES)
