"""TemporalEncoder: a trainable GRU/LSTM that turns a sequence of frame embeddings into one vector.

Mean-pooling frames (what VideoPipeline's vector does) forgets order: "calm then crash" and
"crash then calm" pool the same. The training stage can learn order with this module over
``Features.sequence`` (T, d) arrays of different lengths: they are padded, packed (the RNN never
sees padding) and summarised as [last hidden state(s) | masked mean of the outputs] -> linear.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


def pad_sequences(
    sequences: Sequence[np.ndarray], *, max_len: int | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Pad (T_i, d) arrays into (B, T, d) float32 plus lengths (B,) and a boolean mask (B, T).

    Sequences longer than ``max_len`` keep their first ``max_len`` steps. An empty sequence
    (a video whose frames all failed) becomes one zero step so that packing stays valid.
    """
    if not sequences:
        raise ValueError("pad_sequences needs at least one sequence")
    dim = int(np.asarray(sequences[0]).reshape(-1, np.asarray(sequences[0]).shape[-1]).shape[1])
    lengths = [max(1, min(len(s), max_len) if max_len else len(s)) for s in sequences]
    padded = torch.zeros(len(sequences), max(lengths), dim, dtype=torch.float32)
    for row, (sequence, length) in enumerate(zip(sequences, lengths)):
        array = np.asarray(sequence, dtype=np.float32).reshape(-1, dim)[:length]
        if len(array):
            padded[row, : len(array)] = torch.from_numpy(array)
    length_tensor = torch.tensor(lengths, dtype=torch.long)
    mask = torch.arange(padded.shape[1])[None, :] < length_tensor[:, None]
    return padded, length_tensor, mask


class TemporalEncoder(nn.Module):
    """(B, T, input_dim) padded sequences + lengths -> (B, output_dim) embeddings."""

    def __init__(
        self,
        input_dim: int = 1280,
        hidden_dim: int = 256,
        output_dim: int = 256,
        *,
        cell: str = "gru",
        num_layers: int = 1,
        bidirectional: bool = True,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        if cell not in ("gru", "lstm"):
            raise ValueError(f"cell must be 'gru' or 'lstm', got {cell!r}")
        self.input_dim, self.output_dim, self.cell = input_dim, output_dim, cell
        self.norm = nn.LayerNorm(input_dim)  # frame embeddings differ in scale across image encoders
        rnn_class = nn.GRU if cell == "gru" else nn.LSTM
        self.rnn = rnn_class(
            input_dim,
            hidden_dim,
            num_layers=num_layers,
            batch_first=True,
            bidirectional=bidirectional,
            dropout=dropout if num_layers > 1 else 0.0,
        )
        directions = 2 if bidirectional else 1
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(2 * directions * hidden_dim, output_dim))

    def forward(self, sequences: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        packed = pack_padded_sequence(
            self.norm(sequences), lengths.cpu().clamp(min=1), batch_first=True, enforce_sorted=False
        )
        outputs, hidden = self.rnn(packed)
        if self.cell == "lstm":
            hidden = hidden[0]
        directions = 2 if self.rnn.bidirectional else 1
        last = hidden[-directions:].transpose(0, 1).reshape(sequences.shape[0], -1)  # top layer, all directions
        unpacked, _ = pad_packed_sequence(outputs, batch_first=True, total_length=sequences.shape[1])
        mask = (
            torch.arange(sequences.shape[1], device=sequences.device)[None, :] < lengths.to(sequences.device)[:, None]
        ).unsqueeze(-1)
        mean = (unpacked * mask).sum(1) / mask.sum(1).clamp(min=1)
        return self.head(torch.cat([last, mean], dim=1))

    @torch.no_grad()
    def embed(self, sequences: Sequence[np.ndarray], *, batch_size: int = 64) -> np.ndarray:
        """Eval-mode embeddings for a list of (T_i, input_dim) arrays, as a (B, output_dim) float32 array."""
        was_training = self.training
        self.eval()
        try:
            chunks = []
            for start in range(0, len(sequences), batch_size):
                padded, lengths, _ = pad_sequences(sequences[start : start + batch_size])
                chunks.append(self(padded, lengths).numpy())
            return np.concatenate(chunks).astype(np.float32) if chunks else np.zeros((0, self.output_dim), np.float32)
        finally:
            self.train(was_training)
