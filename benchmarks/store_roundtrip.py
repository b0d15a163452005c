"""Save and reopen of a 500-study dataset on SQLite and PostgreSQL (run by hand; prints only):

    python3 benchmarks/store_roundtrip.py [--studies 500] [--repeat 10]

The dataset is the bundled one repeated with new study ids (outcome rows follow their
studies). PostgreSQL is a throwaway cluster run as the ``postgres`` user
(``tests/unit/store_support.py``), on a Unix socket. Times are wall-clock per call: ``save``
includes the check that the payload reads back as saved, ``open`` the decryption and the
upload checks.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.data.dataset import Dataset, load_bundled
from core.store import Opened, Saved, Settings, Store


def dataset_of(n: int) -> Dataset:
    """The bundled dataset repeated to ``n`` studies (ids suffixed with the copy number)."""
    base = load_bundled()
    studies, outcomes = [], []
    for copy in range(-(-n // len(base.studies))):
        s, o = base.studies.copy(), base.outcomes.copy()
        s["study_id"] = s["study_id"] + f"_{copy}"
        o["study_id"] = o["study_id"] + f"_{copy}"
        studies.append(s)
        outcomes.append(o)
    s = pd.concat(studies, ignore_index=True).iloc[:n]
    o = pd.concat(outcomes, ignore_index=True)
    o = o[o["study_id"].isin(s["study_id"])].reset_index(drop=True)
    return replace(base, studies=s, outcomes=o)


def measure(name: str, url: str, ds: Dataset, repeat: int) -> None:
    st = Store(Settings(url))
    saves, opens = [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        saved = st.save(ds)
        saves.append(time.perf_counter() - t0)
        assert isinstance(saved, Saved), saved
        t0 = time.perf_counter()
        got = st.open(saved.token)
        opens.append(time.perf_counter() - t0)
        assert isinstance(got, Opened) and got.dataset.studies.equals(ds.studies)
    print(
        f"{name:10s} size {saved.size / 1e3:7.1f} kB  "
        f"save median {statistics.median(saves) * 1e3:7.1f} ms (max {max(saves) * 1e3:7.1f})  "
        f"open median {statistics.median(opens) * 1e3:7.1f} ms (max {max(opens) * 1e3:7.1f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    ds = dataset_of(args.studies)
    print(f"{len(ds.studies)} studies, {len(ds.outcomes)} outcome rows, {args.repeat} repeats")
    with tempfile.TemporaryDirectory() as tmp:
        measure("SQLite", f"sqlite:///{tmp}/store.sqlite3", ds, args.repeat)
    from tests.unit.store_support import INITDB, Cluster

    if INITDB is None:
        print("PostgreSQL: initdb not found, skipped")
        return
    cluster = Cluster()
    try:
        measure("PostgreSQL", cluster.new_database(), ds, args.repeat)
    finally:
        cluster.destroy()


if __name__ == "__main__":
    main()
