"""Overview (AppTest): the forest plots' order is offered and goes into the link; a dataset
with RoB 2 columns shows traffic lights beside the forest plots and the risk-of-bias summary;
the bundled data (no judgements) shows neither."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df

from tests.app.conftest import open_app, shown_link
from ui.upload import handle_upload

ROB2 = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "rob2"


def _rob2_upload() -> tuple[str, object]:
    result = handle_upload([(p.name, p.read_bytes()) for p in sorted(ROB2.glob("*.csv"))])
    assert result.dataset is not None and result.key is not None
    return result.key, result.dataset


def _datasets(at) -> list[list[pd.DataFrame]]:
    """Per chart on the page, its datasets."""
    return [
        [convert_arrow_bytes_to_pandas_df(d.data.data) for d in chart.proto.datasets]
        for chart in at.get("vega_lite_chart")
    ]


def _specs(at) -> list[str]:
    return [c.proto.spec for c in at.get("vega_lite_chart")]


def test_sort_is_offered_and_goes_into_the_link() -> None:
    at = open_app("")
    assert not at.exception
    box = at.selectbox(key="w_forest_sort")
    assert box.value == "data"
    box.set_value("weight").run()
    assert not at.exception
    assert "sort=weight" in shown_link(at)
    at2 = open_app("?sort=label")
    assert at2.selectbox(key="w_forest_sort").value == "label"
    assert not at2.exception


def test_bundled_data_shows_no_risk_of_bias() -> None:
    at = open_app("")
    assert not at.exception
    assert "Risk of bias" not in [s.value for s in at.subheader]
    assert len(_specs(at)) == 2  # the forest plots only
    assert all('"forest_rob"' not in spec for spec in _specs(at))


def test_rob2_dataset_shows_traffic_lights_and_summary() -> None:
    at = open_app("", upload=_rob2_upload())
    assert not at.exception
    assert "Risk of bias" in [s.value for s in at.subheader]
    specs = _specs(at)
    assert len(specs) == 3  # two forest plots, the summary
    forest = [s for s in specs if '"forest_rob"' in s]
    assert len(forest) == 2  # both outcomes, with traffic lights
    lights = [f for frames in _datasets(at)[:2] for f in frames if "symbol" in f.columns]
    assert len(lights) == 2
    for frame in lights:  # Trial C's D1 is high: a red light with ×
        c = frame[frame["row_id"] == "study:TrialC"].iloc[0]
        assert (c["symbol"], c["fill"]) == ("×", "#BF0000")
        assert "study:TrialE" not in set(frame["row_id"])  # no judgement: no light
    assert "Share of studies (%)" in specs[2]
    summary = [f for f in _datasets(at)[2] if "text" in f.columns]
    assert "+ 50%" in set(summary[0]["text"])  # symbol and share on the segments
    captions = " ".join(c.value for c in at.caption)
    assert "Trial E" in captions  # the study without judgements is named, not counted
