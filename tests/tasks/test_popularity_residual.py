"""The residual over the follower prior: the ridge line, training within each day, and the inner folds
that choose its penalty, its inputs and its weight (0: the prior alone). Synthetic frames, no workspace."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import spearmanr

from postlens.tasks.popularity import PopularityModel, parse_popularity_config, time_split
from postlens.tasks.popularity.frame import EMBEDDING, NAMED, Block, PopularityFrame
from postlens.tasks.popularity.residual import LinearResidual, residual_weight, within_period

DAY = 86400.0


def synthetic(n: int = 900, *, signal: float = 0.0, followers_known: bool = True, seed: int = 0) -> PopularityFrame:
    """y = 0.5 log1p(followers) + a day level (an "event") + signal * post_0 + noise; every other input noise."""
    rng = np.random.default_rng(seed)
    followers = np.exp(rng.uniform(2, 13, n)) if followers_known else np.full(n, np.nan)
    times = np.sort(rng.uniform(0, 30 * DAY, n))
    day_level = rng.normal(scale=1.5, size=30)[(times // DAY).astype(int)]
    post = rng.normal(size=(n, 3)).astype(np.float32)
    y = 0.5 * np.log1p(np.nan_to_num(followers)) + day_level + signal * post[:, 0] + rng.normal(scale=0.7, size=n)
    return PopularityFrame(
        ids=[f"s:{i}" for i in range(n)],
        platform=np.array(["twitter"] * n, object),
        author=np.array([f"a{i}" for i in rng.integers(0, 300, n)], object),
        followers=followers,
        times=times,
        y=np.maximum(y, 0.0),
        blocks={
            "text": Block(
                "text", rng.normal(size=(n, 12)).astype(np.float32), [f"text_{j}" for j in range(12)], EMBEDDING
            ),
            "post": Block("post", post, ["n_urls", "n_mentions", "is_reply"], NAMED),
        },
        tags=[[] for _ in range(n)],
    )


def fitted(frame: PopularityFrame, **model: object) -> tuple[PopularityModel, object]:
    config = parse_popularity_config({"features": {"embedding_components": 4}, "model": model})
    split = time_split(frame, config)
    return PopularityModel(config).fit(frame, split.train, split.val), split


@pytest.mark.parametrize("residual", ["linear", "trees"])
def test_a_useless_residual_shrinks_to_the_follower_prior(residual):
    frame = synthetic(signal=0.0)
    model, split = fitted(frame, residual=residual)
    assert model.choice_["weight"] == 0.0, model.describe()
    test = frame.subset(split.test)
    assert np.allclose(model.predict(test), model.prior(test))
    explanation = model.explain(test)  # the drivers still add up: only the prior's terms move anything
    assert np.allclose(explanation.base + explanation.values.sum(axis=1), model.predict(test))


def test_a_post_signal_is_kept_and_beats_the_prior():
    frame = synthetic(signal=0.8)
    model, split = fitted(frame)
    assert model.choice_["weight"] > 0.5, model.describe()
    test = frame.subset(split.test)
    learned = spearmanr(model.predict(test), test.y).statistic
    prior = spearmanr(model.prior(test), test.y).statistic
    assert learned > prior + 0.02
    effect = dict(zip(model.explain(test).names, np.abs(model.explain(test).values).mean(axis=0)))
    assert effect["n_urls"] > 5 * max(effect["n_mentions"], effect["is_reply"])  # the planted column drives it


def test_posts_without_follower_counts_are_still_predicted():
    frame = synthetic(signal=0.8, followers_known=False)
    model, split = fitted(frame)
    assert "MSE" in model.choice_["chosen_by"]  # a flat prior: the penalty is judged by squared error
    test = frame.subset(split.test)
    predicted = model.predict(test)
    assert np.isfinite(predicted).all()
    assert spearmanr(predicted, test.y).statistic > 0.3


def test_set_values_skip_the_inner_folds():
    model, _ = fitted(synthetic(signal=0.8), alpha=1.0, embeddings=False, weight=0.5)
    assert model.choice_ == {
        "alpha": 1.0,
        "embeddings": False,
        "weight": 0.5,
        "chosen_by": "set in the config",
        "inner": {},
    }
    assert not any(c.driver == "text" for c in model.columns_)


def test_linear_contributions_sum_and_a_missing_value_adds_nothing():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(200, 3))
    y = 2 * x[:, 0] - x[:, 2] + 1 + rng.normal(scale=0.1, size=200)
    line = LinearResidual(alpha=1.0).fit(x, y)
    probe = np.array([[0.5, np.nan, -1.0], [np.nan, np.nan, np.nan]])
    contributions = line.predict(probe, pred_contrib=True)
    assert np.allclose(contributions.sum(axis=1), line.predict(probe))
    assert contributions[0, 1] == 0.0 and np.allclose(contributions[1, :3], 0.0)
    assert line.predict(np.array([[1.0, 0.0, 0.0]]))[0] - line.predict(np.array([[0.0, 0.0, 0.0]]))[0] == pytest.approx(
        2.0, abs=0.1
    )
    restored = LinearResidual.from_json(line.to_json())
    assert np.allclose(restored.predict(probe), line.predict(probe))
    nothing = LinearResidual(alpha=1.0).fit(np.full((20, 1), np.nan), np.arange(20.0))  # a column no post has
    assert np.isfinite(nothing.predict(np.array([[np.nan], [3.0]]))).all()


def test_within_period_centres_each_day_and_keeps_undated_posts_apart():
    times = np.array([0.0, 100.0, DAY + 5, DAY + 6, np.nan, np.nan])
    values = np.array([1.0, 3.0, 10.0, 20.0, 7.0, 9.0])
    assert within_period(times, values).tolist() == [-1.0, 1.0, -5.0, 5.0, -1.0, 1.0]


def test_residual_weight_is_zero_for_predictions_against_the_target():
    target = np.array([1.0, -1.0, 2.0, -2.0])
    assert residual_weight(target, -target) == 0.0
    assert residual_weight(target, 0.5 * target) == pytest.approx(2.0)
    assert residual_weight(target, np.zeros(4)) == 0.0


def test_the_simplest_candidate_within_noise_of_the_best_is_kept():
    from postlens.tasks.popularity.settings import _simplest_within_noise

    close = {
        (0.1, True): np.array([0.50, 0.30, 0.40]),  # best on average, by less than its fold-to-fold noise
        (3.0, False): np.array([0.49, 0.31, 0.38]),
        (0.1, False): np.array([0.49, 0.31, 0.39]),
    }
    assert _simplest_within_noise(close) == (3.0, False)  # no embeddings, the stronger penalty
    clear = {(0.1, True): np.array([0.60, 0.40, 0.50]), (3.0, False): np.array([0.40, 0.21, 0.30])}
    assert _simplest_within_noise(clear) == (0.1, True)  # better on every fold: kept


def test_absurd_author_counts_become_missing_not_infinite() -> None:
    """A raw record's listed_count "1e999" casts to infinity; NaN (filled with the mean) keeps the fit finite."""
    from postlens.tasks.popularity.frame import _author_matrix

    row = {"listed": float("inf"), "statuses": float("nan"), "friends": -5.0, "favourites": 10.0}
    matrix = _author_matrix([{**row, "account_since": None, "verified": None}], np.array([0.0]))
    assert np.isnan(matrix[0, :3]).all() and matrix[0, 3] == pytest.approx(np.log1p(10.0))
    assert not np.isinf(matrix).any()
