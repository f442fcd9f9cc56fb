"""Checks of the scoring device (``--device`` / ``scoring.device``), run before any model is trained.

A device is ``'cpu'``, ``'cuda'`` (the current CUDA device) or ``'cuda:N'``. The spelling is checked
when the config is read (no torch import); whether CUDA exists is checked once the executor is
known, before tasks are built: on this machine for the local executor and an embedded Ray, never
for a Ray cluster, whose workers may have GPUs the driver lacks.
"""
from __future__ import annotations

import re

from transfergraph.planner.common.exceptions import ConfigError

__all__ = ["DEVICE_CHOICES", "device_spelling_problem", "check_device"]

#: the device spellings the CLI and the config accept
DEVICE_CHOICES = "'cpu' | 'cuda' | 'cuda:N'"
_DEVICE = re.compile(r"cpu|cuda(:\d+)?")


def device_spelling_problem(device: object) -> str | None:
    """None when ``device`` is a valid device string, else what is wrong (``expected ...; got ...``)."""
    if isinstance(device, str) and _DEVICE.fullmatch(device):
        return None
    return f"expected {DEVICE_CHOICES}; got {type(device).__name__} {device!r}"


def _cpu(key: str) -> str:
    return f"{key} cpu" if key.startswith("--") else f"{key}: cpu"


def check_device(device: str | None, key: str, *, on_this_machine: bool) -> None:
    """Raise :class:`ConfigError` naming ``key`` when ``device`` is misspelt or, ``on_this_machine``,
    names CUDA while no (or not that) CUDA device is available. ``None`` (each model's own device) passes."""
    if device is None:
        return
    problem = device_spelling_problem(device)
    if problem:
        raise ConfigError(f"{key}: {problem}.")
    if not on_this_machine or not device.startswith("cuda"):
        return
    import torch

    if not torch.cuda.is_available():
        raise ConfigError(f"{key} {device!r}: CUDA is not available on this machine (torch.cuda.is_available() "
                          f"is False); use {_cpu(key)} or leave it unset.")
    index = int(device.split(":")[1]) if ":" in device else None
    if index is not None and index >= torch.cuda.device_count():
        raise ConfigError(f"{key} {device!r}: this machine has {torch.cuda.device_count()} CUDA device(s) "
                          f"(cuda:0 to cuda:{torch.cuda.device_count() - 1}).")
