"""The fusion network: one token per modality, missing modalities replaced by a learned embedding.

Projection per modality to a shared width -> modality tokens (+ a metadata token) -> a small
transformer layer over the tokens with a [CLS] token (or plain concatenation) -> task heads.
Because absent modalities become a learned "missing" token and training drops present ones at
random, any subset of modalities is a normal input at inference, not a crash or a zero vector.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

WAVEFORM_EVAL_CHUNK = 64  # crops per RawNet call at inference: 64 x 1 s keeps activations ~100 MB


def waveform_encoder(width: int, dropout: float, *, embed_dim: int = 64, frontend: str = "sinc") -> nn.Module:
    """RawNet (raw samples -> embedding) followed by a projection to the token width."""
    from postlens.encoders.audio.rawnet import RawNetEncoder

    return nn.Sequential(
        RawNetEncoder(embed_dim, frontend=frontend), nn.GELU(), nn.Linear(embed_dim, width), nn.Dropout(dropout)
    )


class FusionNet(nn.Module):
    def __init__(
        self,
        dims: dict[str, int],
        meta_dim: int,
        *,
        width: int = 128,
        n_classes: int = 0,
        regression: bool = False,
        fusion: str = "attention",
        heads: int = 4,
        dropout: float = 0.1,
        sequence_dims: dict[str, int] | None = None,
        waveform: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        super().__init__()
        if fusion not in ("attention", "concat"):
            raise ValueError(f"fusion must be 'attention' or 'concat', got {fusion!r}")
        self.names = sorted(set(dims) | set(waveform or {}))
        self.width = width
        self.fusion = fusion
        self.sequence_names = sorted(sequence_dims or {})
        self.project = nn.ModuleDict(
            {
                m: nn.Sequential(nn.LayerNorm(d), nn.Linear(d, width), nn.GELU(), nn.Dropout(dropout))
                for m, d in dims.items()
            }
        )
        self.temporal = nn.ModuleDict()
        for m, d in (sequence_dims or {}).items():
            from postlens.encoders.video.temporal import TemporalEncoder

            self.temporal[m] = TemporalEncoder(input_dim=d, hidden_dim=width, output_dim=width, dropout=dropout)
        self.waveform = nn.ModuleDict(
            {m: waveform_encoder(width, dropout, **options) for m, options in (waveform or {}).items()}
        )
        self.missing = nn.ParameterDict({m: nn.Parameter(torch.randn(width) * 0.02) for m in self.names})
        self.kind = nn.ParameterDict({m: nn.Parameter(torch.randn(width) * 0.02) for m in self.names})
        self.meta = nn.Sequential(nn.LayerNorm(meta_dim), nn.Linear(meta_dim, width), nn.GELU()) if meta_dim else None
        n_tokens = len(self.names) + (1 if self.meta is not None else 0)
        if fusion == "attention":
            self.cls = nn.Parameter(torch.randn(width) * 0.02)
            self.mixer = nn.TransformerEncoderLayer(
                width, heads, dim_feedforward=2 * width, dropout=dropout, batch_first=True, norm_first=True
            )
            self.out_norm = nn.LayerNorm(width)
        else:
            self.concat = nn.Sequential(nn.Linear(n_tokens * width, width), nn.GELU(), nn.Dropout(dropout))
        self.class_head = nn.Linear(width, n_classes) if n_classes else None
        self.value_head = nn.Linear(width, 1) if regression else None

    def tokens(
        self,
        inputs: dict[str, torch.Tensor],
        masks: dict[str, torch.Tensor],
        meta: torch.Tensor,
        sequences: dict[str, tuple[torch.Tensor, torch.Tensor]] | None = None,
        waveforms: dict[str, tuple[torch.Tensor, torch.Tensor]] | None = None,
    ) -> torch.Tensor:
        """(B, n_tokens, width): a projected vector where the modality is present, else its missing token."""
        batch = meta.shape[0]
        out = []
        for m in self.names:
            if sequences and m in sequences and m in self.temporal:
                padded, lengths = sequences[m]
                projected = self.temporal[m](padded, lengths)
            elif m in self.waveform:
                crops, owners = waveforms[m] if waveforms and m in waveforms else (None, None)
                projected = self._waveform_token(m, crops, owners, batch)
            elif m in inputs:
                projected = self.project[m](inputs[m])
            else:  # a modality unknown to this batch entirely: all missing
                projected = self.missing[m].expand(batch, -1)
            present = masks[m][:, None] if m in masks else torch.zeros(batch, 1, dtype=torch.bool)
            out.append(torch.where(present, projected, self.missing[m].expand(batch, -1)) + self.kind[m])
        if self.meta is not None:
            out.append(self.meta(meta))
        return torch.stack(out, dim=1)

    def _waveform_token(
        self, m: str, crops: torch.Tensor | None, owners: torch.Tensor | None, batch: int
    ) -> torch.Tensor:
        """Mean RawNet embedding of each row's crops; rows without crops get zeros (then masked)."""
        token = torch.zeros(batch, self.width)
        if crops is None or owners is None or len(crops) == 0:
            return token
        chunk = len(crops) if self.training else WAVEFORM_EVAL_CHUNK  # bounds eval memory
        embedded = torch.cat([self.waveform[m](crops[i : i + chunk]) for i in range(0, len(crops), chunk)])
        counts = torch.zeros(batch).index_add(0, owners, torch.ones(len(owners)))
        return token.index_add(0, owners, embedded) / counts.clamp_min(1)[:, None]

    def forward(
        self,
        inputs: dict[str, torch.Tensor],
        masks: dict[str, torch.Tensor],
        meta: torch.Tensor,
        sequences: dict[str, tuple[torch.Tensor, torch.Tensor]] | None = None,
        waveforms: dict[str, tuple[torch.Tensor, torch.Tensor]] | None = None,
    ) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        tokens = self.tokens(inputs, masks, meta, sequences, waveforms)
        if self.fusion == "attention":
            cls = self.cls.expand(tokens.shape[0], 1, -1)
            hidden = self.out_norm(self.mixer(torch.cat([cls, tokens], dim=1))[:, 0])
        else:
            hidden = self.concat(tokens.flatten(1))
        logits = self.class_head(hidden) if self.class_head is not None else None
        value = self.value_head(hidden).squeeze(-1) if self.value_head is not None else None
        return logits, value
