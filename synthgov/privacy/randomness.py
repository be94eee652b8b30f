"""Where the randomness of every DP mechanism comes from: a secret, except in the labelled test mode.

An (epsilon, delta) claim holds only if the adversary cannot replay the mechanism's coins. With a
seed from params (public, like the code), anyone who knows the other n - 1 rows could retrain both
neighbouring worlds and see which one reproduces the release. So a release run draws its DP
randomness (Poisson masks, Gaussian noise, the noisy counts and histograms, the row subsample)
from os.urandom, and the entropy is never stored, logged or released.

`privacy.test_mode: true` seeds the same streams from train.seed instead: runs become byte for byte
reproducible, which tests need, and are labelled TEST MODE everywhere; the privacy gate refuses
to promote them.

The workspace key is a second, persistent secret (<workspace>/.synthgov/secret.key, mode 0600,
never released): it keys the holdout split (stable per source version, independent per row, so
neighbouring sources give neighbouring training sets) and the opaque source version id printed on
public releases.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

KEY_PATH = Path(".synthgov") / "secret.key"
TEST_MODE_LABEL = "TEST MODE: DP randomness seeded from params (reproducible, not private)"
RELEASE_LABEL = "secret (os.urandom, never stored)"


@dataclass(frozen=True)
class DPRandomness:
    """The generators of one run's DP mechanisms, and whether they are secret."""

    numpy: np.random.Generator
    torch_seed: int
    secret: bool

    @property
    def label(self) -> str:
        return RELEASE_LABEL if self.secret else TEST_MODE_LABEL

    def torch(self):
        """A fresh torch.Generator on this run's stream (Opacus' noise and Poisson sampling)."""
        import torch

        return torch.Generator().manual_seed(self.torch_seed)


def dp_randomness(test_mode: bool, seed: int) -> DPRandomness:
    """Secret generators from os.urandom, or, in test mode only, generators seeded from `seed`.

    >>> a, b = dp_randomness(True, 0), dp_randomness(True, 0)
    >>> a.numpy.random() == b.numpy.random(), a.secret
    (True, False)
    >>> dp_randomness(False, 0).numpy.random() == dp_randomness(False, 0).numpy.random()
    False
    """
    if test_mode:
        return DPRandomness(np.random.default_rng(seed), seed, secret=False)
    entropy = int.from_bytes(os.urandom(32), "little")
    return DPRandomness(np.random.default_rng(entropy), int.from_bytes(os.urandom(8), "little") >> 1, secret=True)


def fresh_seed(test_mode: bool, seed: int) -> int:
    """A seed for post-processing randomness (sampling from a trained model): secret and fresh in a
    release run, so nightly regeneration draws a new table; `seed` in test mode."""
    return seed if test_mode else int.from_bytes(os.urandom(8), "little") >> 1


def workspace_key(root: Path) -> bytes:
    """The workspace's persistent secret, created on first use (O_EXCL: concurrent runs agree)."""
    path = Path(root) / KEY_PATH
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(os.urandom(32))
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, path)  # fails if another run created the key first: keep theirs
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
    return path.read_bytes()


def split_key(test_mode: bool, split_seed: int, root: Path) -> bytes:
    """The key of the holdout split: the workspace secret, or the public split_seed in test mode."""
    return f"synthgov-split-{split_seed}".encode() if test_mode else workspace_key(root)


def source_version_id(source_hash: str, root: Path) -> str:
    """An opaque id of a source version for public releases: an HMAC of its content hash under the
    workspace key. The data owner can recompute it; without the key it reveals nothing of the
    rows (a plain content hash would let anyone holding a candidate table test it)."""
    return hmac.new(workspace_key(root), source_hash.encode(), hashlib.sha256).hexdigest()[:20]
