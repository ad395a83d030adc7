"""TemporalEncoder learns order, which mean-pooling cannot; padding and packing behave."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from postlens.encoders.video import TemporalEncoder, pad_sequences

DIM = 12


def _order_task(count: int, rng: np.random.Generator) -> tuple[list[np.ndarray], np.ndarray]:
    """Sequences holding the same two marker frames A and B among noise; label = A comes before B.

    Both classes have exactly the same multiset of frames per sequence, so any mean/max pool of a
    sequence carries no information about the label.
    """
    marker_a, marker_b = np.eye(DIM, dtype=np.float32)[0] * 3, np.eye(DIM, dtype=np.float32)[1] * 3
    sequences, labels = [], []
    for _ in range(count):
        length = int(rng.integers(4, 13))
        steps = rng.normal(0, 0.3, (length, DIM)).astype(np.float32)
        i, j = rng.choice(length, size=2, replace=False)
        steps[i], steps[j] = marker_a, marker_b
        sequences.append(steps)
        labels.append(float(i < j))
    return sequences, np.array(labels, np.float32)


def test_pad_sequences_lengths_and_mask() -> None:
    padded, lengths, mask = pad_sequences([np.ones((3, 4)), np.ones((1, 4)), np.zeros((0, 4))])
    assert padded.shape == (3, 3, 4) and lengths.tolist() == [3, 1, 1]
    assert mask.tolist() == [[True, True, True], [True, False, False], [True, False, False]]
    assert padded[1, 1:].abs().sum() == 0


def test_padding_does_not_change_the_embedding() -> None:
    torch.manual_seed(0)
    model = TemporalEncoder(DIM, 16, 8).eval()
    sequence = np.random.default_rng(0).normal(size=(5, DIM)).astype(np.float32)
    alone = model.embed([sequence])
    with_longer = model.embed([sequence, np.zeros((20, DIM), np.float32)])
    np.testing.assert_allclose(alone[0], with_longer[0], atol=1e-5)


@pytest.fixture
def one_thread():
    """A tiny RNN gains nothing from threads; on a shared 2-core machine they only contend."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def test_lstm_variant_gives_fixed_size_output() -> None:
    padded, lengths, _ = pad_sequences([np.ones((4, DIM)), np.ones((2, DIM))])
    assert TemporalEncoder(DIM, 8, 5, cell="lstm", bidirectional=False)(padded, lengths).shape == (2, 5)
    with pytest.raises(ValueError):
        TemporalEncoder(DIM, cell="transformer")


def test_learns_an_order_task_mean_pooling_cannot_solve(one_thread: None) -> None:
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    train_x, train_y = _order_task(384, rng)
    test_x, test_y = _order_task(256, rng)
    model = TemporalEncoder(DIM, 24, 1, cell="gru", dropout=0.0)
    optimiser = torch.optim.Adam(model.parameters(), lr=0.01)
    loss_fn = torch.nn.BCEWithLogitsLoss()
    losses = []
    for _epoch in range(6):
        order = rng.permutation(len(train_x))
        for start in range(0, len(order), 64):
            batch = order[start : start + 64]
            padded, lengths, _ = pad_sequences([train_x[i] for i in batch])
            loss = loss_fn(model(padded, lengths).squeeze(1), torch.from_numpy(train_y[batch]))
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            losses.append(loss.item())
    assert np.mean(losses[-8:]) < 0.5 * np.mean(losses[:8])
    accuracy = ((model.embed(test_x)[:, 0] > 0) == (test_y > 0.5)).mean()
    print("order-task accuracy", accuracy, "loss", np.mean(losses[:8]), "->", np.mean(losses[-8:]))
    assert accuracy > 0.9
    # swapping A and B keeps the mean (all a mean-pool sees) but flips the prediction
    swapped = test_x[0].copy()
    a, b = int(np.argmax(swapped[:, 0])), int(np.argmax(swapped[:, 1]))
    swapped[[a, b]] = swapped[[b, a]]
    np.testing.assert_allclose(swapped.mean(axis=0), test_x[0].mean(axis=0), atol=1e-6)
    assert (model.embed([swapped])[0, 0] > 0) != (model.embed([test_x[0]])[0, 0] > 0)
