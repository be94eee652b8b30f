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
    """Rows of the encoded table, one-hot encoded a whole batch at a time: the table is held as
    integer codes (a few bytes a cell), never as its one-hot matrix."""

    def __init__(self, codes: np.ndarray, cards: list[int]):
        self.codes = torch.as_tensor(np.ascontiguousarray(codes), dtype=torch.int32)
        self.cards = list(cards)

    def __len__(self) -> int:
        return self.codes.shape[0]

    def __getitem__(self, i: int) -> torch.Tensor:
        return one_hot(self.codes[i:i + 1], self.cards)[0]

    def __getitems__(self, idx: list[int]) -> list[torch.Tensor]:
        return [one_hot(self.codes[torch.as_tensor(idx, dtype=torch.long)], self.cards)]


def collate(batch: list[torch.Tensor]) -> torch.Tensor:
    return batch[0]


def one_hot(codes, cards: list[int]) -> torch.Tensor:
    """The one-hot rows of integer codes (n x columns), one block of `cards[j]` per column.

    >>> one_hot(np.array([[0, 2], [1, 0]]), [2, 3]).tolist()
    [[1.0, 0.0, 0.0, 0.0, 1.0], [0.0, 1.0, 1.0, 0.0, 0.0]]
    """
    codes = torch.as_tensor(codes, dtype=torch.long).reshape(-1, len(cards))
    offsets = torch.as_tensor(np.concatenate([[0], np.cumsum(cards)[:-1]]), dtype=torch.long)
    out = torch.zeros(codes.shape[0], int(sum(cards)))
    out.scatter_(1, codes + offsets, 1.0)
    return out
