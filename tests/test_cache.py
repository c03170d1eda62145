"""Precomputations kept on disk between commands (``tmpsim.cache``), and the market's use of it.

An entry is found again only under the same key, a damaged one is computed again, a cache that
is off or cannot be written changes nothing but the time, and each kind keeps its newest few.
"""

from __future__ import annotations

import os
import stat

import numpy as np
import pytest

from tmpsim import cache
from tmpsim.model import host_market, recruitment, routes
from tmpsim.scenario import load_scenario
from tmpsim.simulation import Simulation

FLAGSHIP = "japan-titp-covid"


@pytest.fixture
def folder(tmp_path, monkeypatch: pytest.MonkeyPatch):
    """A cache folder of this test."""
    monkeypatch.setenv(cache.ENV, str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_an_entry_is_found_under_its_key_only(folder) -> None:
    k = cache.key("inputs", b"\x00bytes")
    assert cache.load("kind", k) is None  # nothing kept yet
    cache.store("kind", k, {"value": np.arange(3)})
    found = cache.load("kind", k)
    assert np.array_equal(found["value"], np.arange(3))
    assert cache.load("kind", cache.key("other inputs", b"\x00bytes")) is None
    assert cache.load("other kind", k) is None
    assert [p.name for p in (folder / "kind").iterdir()] == [f"{k}.pickle"]  # no temporary left


def test_the_key_covers_the_inputs_and_tmpsims_own_files(monkeypatch) -> None:
    k = cache.key("a", "b")
    assert k == cache.key("a", "b")
    assert k != cache.key("ab")  # parts are separated
    assert k != cache.key("a", "c")
    monkeypatch.setattr(cache, "code_digest", lambda: "another version")
    assert k != cache.key("a", "b")


def test_a_damaged_entry_is_dropped(folder) -> None:
    k = cache.key("x")
    cache.store("kind", k, 1)
    path = folder / "kind" / f"{k}.pickle"
    path.write_bytes(b"not a pickle")
    assert cache.load("kind", k) is None
    assert not path.exists()
    cache.store("kind", k, 2)
    assert cache.load("kind", k) == 2


@pytest.mark.parametrize("value", ["off", "0", ""])
def test_the_cache_can_be_turned_off(value, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(cache.ENV, value)
    assert cache.folder() is None
    cache.store("kind", cache.key("x"), 1)
    assert cache.load("kind", cache.key("x")) is None
    assert list(tmp_path.iterdir()) == []


def test_the_default_folder_is_the_users_cache(monkeypatch) -> None:
    monkeypatch.delenv(cache.ENV, raising=False)
    assert cache.folder().name == "tmpsim"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_folder_that_cannot_be_written_is_left_alone(folder) -> None:
    folder.mkdir()
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        cache.store("kind", cache.key("x"), 1)  # no error
        assert cache.load("kind", cache.key("x")) is None
    finally:
        folder.chmod(stat.S_IRWXU)


def test_a_file_in_the_way_is_left_alone(folder) -> None:
    folder.mkdir()
    (folder / "kind").write_text("a file where the kind's folder would be")
    cache.store("kind", cache.key("x"), 1)  # no error
    assert cache.load("kind", cache.key("x")) is None


def test_each_kind_keeps_its_newest_entries(folder, monkeypatch) -> None:
    monkeypatch.setattr(cache, "KEEP", 3)
    keys = [cache.key(str(i)) for i in range(5)]
    for i, k in enumerate(keys):
        cache.store("kind", k, i)
        os.utime(folder / "kind" / f"{k}.pickle", ns=(i * 10**9, i * 10**9))
    cache.store("kind", keys[4], 4)  # storing trims to the newest KEEP
    assert sorted(p.stem for p in (folder / "kind").iterdir()) == sorted(keys[2:])
    assert cache.load("kind", keys[0]) is None
    assert cache.load("kind", keys[3]) == 3


def test_a_new_process_takes_the_market_from_disk(folder, monkeypatch) -> None:
    sc = load_scenario(FLAGSHIP)
    recruitment._MARKETS.clear()
    first = Simulation(sc, seed=1, scale=0.002).recruitment.market
    assert len(list((folder / "market").iterdir())) == 1

    # A new process: nothing in memory, and the market must not run.
    recruitment._MARKETS.clear()

    def no_market(*args, **kwargs):
        raise AssertionError("the market ran again")

    monkeypatch.setattr(recruitment, "split_of", no_market)
    again = Simulation(sc, seed=2, scale=0.003).recruitment.market
    assert again is not first
    assert np.array_equal(again.shares, first.shares)
    assert np.array_equal(again.fee, first.fee, equal_nan=True)
    assert np.array_equal(again.run.departures, first.run.departures)
    assert not again.shares.flags.writeable  # shared by runs, as a fresh one

    # Another input of the market: computed, not taken from the entry of the first.
    other = sc.model_copy(
        update={"origins_market": sc.origins_market.model_copy(update={"seed": 7})}
    )
    with pytest.raises(AssertionError, match="ran again"):
        Simulation(other, seed=1, scale=0.002)
    shares = {
        **dict(sc.origins),
        "Vietnam": sc.origins["Vietnam"].model_copy(update={"demand_share": {2012: 0.5}}),
    }
    with pytest.raises(AssertionError, match="ran again"):
        Simulation(sc.model_copy(update={"origins": shares}), seed=1, scale=0.002)


def test_the_split_reads_only_its_inputs() -> None:
    """Runs whose scenarios differ outside the market's inputs share one key."""
    sc = load_scenario(FLAGSHIP)
    demand = Simulation(sc, scale=0.002).demand_total
    base = host_market.split_inputs(sc.origins_market, sc, demand)
    later = sc.model_copy(update={"description": "another run of the same market"})
    assert host_market.split_inputs(sc.origins_market, later, demand).digest() == base.digest()
    shorter = sc.model_copy(update={"end": sc.end.replace(year=sc.end.year - 1)})
    assert host_market.split_inputs(sc.origins_market, shorter, demand).digest() != base.digest()


def test_kept_computes_what_is_missing_or_of_another_type(folder) -> None:
    k = cache.key("k")
    assert cache.kept("kind", k, lambda: [1, 2], list) == [1, 2]
    assert cache.kept("kind", k, lambda: [3], list) == [1, 2]  # found, not computed
    assert cache.kept("kind", k, lambda: (4,), tuple) == (4,)  # a list is not what is expected


def test_the_ratings_threshold_is_each_days_and_kept(folder, monkeypatch) -> None:
    sc = load_scenario(FLAGSHIP)
    rating = sc.routes.next_stage.excellent
    law = (sc.supervision.proactivity_mean, sc.supervision.proactivity_concentration)
    got = routes.rated_from_by_day(rating, *law, sc.start, 1000)
    expected = [routes.rated_from(rating.share_on(sc.date(d)), *law) for d in range(1000)]
    assert np.array_equal(got, expected)
    assert got[0] == got[300] > got[900]  # held before the first date; more rated after the rise

    def unsolved(*args):
        raise AssertionError("solved again")

    monkeypatch.setattr(routes, "rated_from", unsolved)
    assert np.array_equal(routes.rated_from_by_day(rating, *law, sc.start, 1000), got)
    with pytest.raises(AssertionError, match="solved again"):  # another law: another key
        routes.rated_from_by_day(rating, law[0] * 0.9, law[1], sc.start, 1000)
