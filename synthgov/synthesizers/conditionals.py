"""The network of the dp-autoregressive synthesizer: one conditional per column on the one-hot
prefix of the columns before it, and the dataset view DP-SGD samples from."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

# the initial logit bias of a code that no declared value maps to (an "Other" added for values
# outside the declared labels): a public prior, so the model samples it only when rows hold it
UNLIKELY_BIAS = -10.0


class Conditionals(nn.Module):
    """One head per column j, reading the one-hot prefix of columns < j."""

    def __init__(self, cards: list[int], hidden: int, unlikely: dict[int, list[int]] | None = None):
        super().__init__()
        self.cards = list(cards)
        self.offsets = np.concatenate([[0], np.cumsum(cards)]).tolist()
        heads = []
        for j, card in enumerate(cards):
            width = max(self.offsets[j], 1)  # the first column reads a constant input
            if hidden:
                heads.append(nn.Sequential(nn.Linear(width, hidden), nn.ReLU(), nn.Linear(hidden, card)))
            else:
                heads.append(nn.Linear(width, card))
        self.heads = nn.ModuleList(heads)
        with torch.no_grad():  # codes no declared value maps to (an implicit "Other") start unlikely
            for j, codes in (unlikely or {}).items():
                last = self.heads[j] if not hidden else self.heads[j][-1]
                last.bias[codes] = UNLIKELY_BIAS

    def head_logits(self, j: int, onehot: torch.Tensor) -> torch.Tensor:
        prefix = onehot[:, : self.offsets[j]] if j else onehot.new_ones(onehot.shape[0], 1)
        return self.heads[j](prefix)

    def forward(self, onehot: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.head_logits(j, onehot) for j in range(len(self.cards))], dim=1)

    def loss(self, logits: torch.Tensor, onehot: torch.Tensor) -> torch.Tensor:
        """Mean over rows of the summed per-column cross-entropy."""
        total = logits.new_zeros(())
        for j in range(len(self.cards)):
            lo, hi = self.offsets[j], self.offsets[j + 1]
            target = onehot[:, lo:hi].argmax(dim=1)
            total = total + nn.functional.cross_entropy(logits[:, lo:hi], target, reduction="mean")
        return total


class Rows(torch.utils.data.Dataset):
    """Rows of a one-hot matrix, fetched a whole batch at a time."""

    def __init__(self, onehot: torch.Tensor):
        self.onehot = onehot

    def __len__(self) -> int:
        return self.onehot.shape[0]

    def __getitem__(self, i: int) -> torch.Tensor:
        return self.onehot[i]

    def __getitems__(self, idx: list[int]) -> list[torch.Tensor]:
        return [self.onehot[torch.as_tensor(idx, dtype=torch.long)]]


def collate(batch: list[torch.Tensor]) -> torch.Tensor:
    return batch[0]


def one_hot(codes: np.ndarray, cards: list[int]) -> torch.Tensor:
    parts = [nn.functional.one_hot(torch.as_tensor(codes[:, j]), c) for j, c in enumerate(cards)]
    return torch.cat(parts, dim=1).float()
