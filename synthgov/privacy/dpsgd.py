"""DP-SGD with Opacus, assembled explicitly so that what runs is exactly what is accounted.

Opacus' `make_private` derives the sampling rate from the data loader's length (1 / batches per
epoch, a function of the private row count) and normalises by an expected batch size computed
from the private n. Here both are public: rows join a step's batch independently with the
declared probability `sample_rate` (Poisson sampling, Opacus' DPDataLoader), and the noisy sum is
divided by `expected_batch_size`, computed by the caller from a public bound or DP count of the
rows. The Poisson masks and the Gaussian noise come from the run's DP randomness (secret in a
release run), and the noise is drawn as in Opacus' secure mode (a sum of Gaussians that resists
floating-point attacks on the noise).

A Poisson batch larger than `max_physical_batch` rows is processed in chunks (Opacus'
BatchSplittingSampler): each chunk's per-sample gradients are clipped and summed, and the noise is
added once, when the batch ends. The mechanism, and so the accounting, is the same; the memory of
the per-sample gradients is bounded by the chunk, whatever the table's size.
"""

from __future__ import annotations

import warnings

import torch
from torch import nn


def make_private(module: nn.Module, optimizer: torch.optim.Optimizer, dataset: torch.utils.data.Dataset, *,
                 sample_rate: float, noise_multiplier: float, max_grad_norm: float, expected_batch_size: int,
                 generator: torch.Generator, collate_fn=None, max_physical_batch: int | None = None):
    """Per-sample gradients (hooks), Poisson batches at `sample_rate`, clipping and secret noise.

    Returns the wrapped module, the DP optimizer and the Poisson data loader. The caller takes
    exactly the accounted number of steps: a step is an `optimizer.step()` after which
    `optimizer._is_last_step_skipped` is false (the chunks before a batch's last are skipped).
    """
    from opacus import GradSampleModule
    from opacus.data_loader import DPDataLoader
    from opacus.optimizers import DPOptimizer
    from opacus.utils.batch_memory_manager import BatchSplittingSampler

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Opacus' notes on secure RNG: ours is os.urandom-seeded
        model = GradSampleModule(module, batch_first=True, loss_reduction="mean")
        model.forbid_grad_accumulation()
        loader = DPDataLoader(dataset, sample_rate=sample_rate, generator=generator, collate_fn=collate_fn)
        dp_optimizer = DPOptimizer(optimizer, noise_multiplier=noise_multiplier, max_grad_norm=max_grad_norm,
                                   expected_batch_size=max(1, int(expected_batch_size)), loss_reduction="mean",
                                   generator=generator, secure_mode=True)
    if max_physical_batch:
        loader = torch.utils.data.DataLoader(
            dataset, collate_fn=collate_fn,
            batch_sampler=BatchSplittingSampler(sampler=loader.batch_sampler, max_batch_size=max_physical_batch,
                                                optimizer=dp_optimizer))
    return model, dp_optimizer, loader
