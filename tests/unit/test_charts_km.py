"""The review chart of a reconstruction: the reconstructed Kaplan-Meier steps equal the
estimate of the reconstructed patients, drawn over the cleaned digitised points, one colour
per arm, survival on a 0-100% axis."""

from __future__ import annotations

import numpy as np
import pytest

from core.charts.km import ARM_COLORS, km_review_chart
from core.stats.km import reconstruct
from core.views.km import curve_frames

CURVES = {
    "rt": ([0, 3, 7, 12, 18, 24, 30], [100, 92, 85, 76, 70, 62, 60]),
    "ctl": ([0, 2, 5, 11, 16, 23, 29], [100, 90, 78, 64, 52, 45, 40]),
}
AT_RISK = {
    "rt": ([0, 6, 12, 18, 24, 30], [40, 35, 29, 24, 18, 10]),
    "ctl": ([0, 6, 12, 18, 24, 29], [42, 32, 25, 19, 14, 9]),
}


@pytest.fixture(scope="module")
def rec():
    return reconstruct(CURVES, AT_RISK)


def test_step_frame_is_the_reconstructed_kaplan_meier(rec):
    steps, points = curve_frames(rec)
    for arm in ("rt", "ctl"):
        km = rec.arms[arm].kaplan_meier()
        s = steps[steps["arm"] == arm]
        assert (s["time_months"].iloc[0], s["survival"].iloc[0]) == (0.0, 1.0)
        assert s["time_months"].iloc[-1] == km.last_time
        assert np.all(np.diff(s["time_months"]) >= 0) and np.all(np.diff(s["survival"]) <= 0)
        # Every corner lies on the estimate: S just after each time is the KM value there.
        for t, v in zip(s["time_months"][2::2], s["survival"][2::2], strict=False):
            assert v == pytest.approx(km.at(t), abs=1e-15)
        p = points[points["arm"] == arm]
        assert p["time_months"].tolist() == rec.arms[arm].curve.time.tolist()
        # The percent input is drawn as fractions; 6 and 12 months were added (at-risk times).
        assert p["survival"].max() == 1.0 and {6.0, 12.0} <= set(p["time_months"])


def test_chart_spec(rec):
    spec = km_review_chart(*curve_frames(rec), title="Figure 2A").to_dict()
    assert spec["title"] == "Figure 2A"
    dots, lines = spec["layer"]
    assert dots["mark"]["type"] == "point" and lines["mark"]["type"] == "line"
    assert lines["encoding"]["order"]["field"] == "order"
    assert spec["layer"][0]["encoding"]["y"]["scale"]["domain"] == [0, 1]
    color = lines["encoding"]["color"]["scale"]
    assert color["domain"] == ["RT", "Control"]
    assert color["range"] == [ARM_COLORS["rt"], ARM_COLORS["ctl"]]
    datasets = spec["datasets"]
    rows = {len(v) for v in datasets.values()}
    steps, points = curve_frames(rec)
    assert rows == {len(steps), len(points)}
