"""The detector on hand-made bins: a story's thin first hour does not become its own baseline."""

from __future__ import annotations

import numpy as np

from postlens.tasks.trends import TrendSettings
from postlens.tasks.trends.detector import StreamState, fold_bin


def test_a_story_whose_first_hour_is_thin_is_alerted_in_its_second() -> None:
    """Three busy days, two months without posts (the baseline's volume decays to a few posts), then a
    new story: 9 posts in its first hour (under min_count 10), 12 in the next. The first hour stands
    out but cannot alert; it must not teach the baseline so much that the second one looks normal."""
    settings = TrendSettings()
    state = StreamState.empty(settings)
    hour = 400_000
    for b in range(hour, hour + 72):
        fold_bin(state, settings, b, 20, ["#daily"], np.array([5]))
    start = hour + 72 + 60 * 24
    first = fold_bin(state, settings, start, 9, ["#newstory"], np.array([9]))
    assert not first.alert.any()
    second = fold_bin(state, settings, start + 1, 12, ["#newstory"], np.array([12]))
    row = list(second.rows).index(state.index["#newstory"])
    assert second.alert[row], f"expected {second.expected[row]:.2f}, z {second.score[row]:.1f}"
    # the term then learns: a week of the same hourly count is no longer a burst
    for b in range(start + 2, start + 2 + 7 * 24):
        last = fold_bin(state, settings, b, 12, ["#newstory"], np.array([12]))
    assert last.state[list(last.rows).index(state.index["#newstory"])] == "steady"


def test_novelty_alerts_a_never_seen_term_from_several_authors_only_when_asked() -> None:
    """Four posts by four authors of a new hashtag (under min_count 10) alert with novelty on; the same
    four posts of an old term, or by two authors, do not; with novelty off (the default) nothing does."""
    hour = 400_000

    def run(settings: TrendSettings, term: str, authors: int) -> bool:
        state = StreamState.empty(settings)
        for b in range(hour, hour + 72):
            fold_bin(state, settings, b, 8, ["#daily", "#old"], np.array([4, 1]), np.array([4, 1]))
        result = fold_bin(state, settings, hour + 72, 12, ["#daily", term], np.array([4, 4]), np.array([4, authors]))
        return bool(result.alert[list(result.rows).index(state.index[term])])

    novelty = TrendSettings(novelty_min_authors=3)
    assert run(novelty, "#brandnew", authors=4)
    assert not run(novelty, "#brandnew", authors=2)
    assert not run(novelty, "#old", authors=4)
    assert not run(TrendSettings(), "#brandnew", authors=4)
