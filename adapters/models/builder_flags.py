"""Constructor arguments that rebuild the model a zoo checkpoint came from.

A ``state_dict`` records weights, not how the model was built. Some torchvision builders set
constructor flags when pretrained weights are requested (``torchvision/models/googlenet.py`` and
``inception.py``, and their quantized versions: ``if weights is not None:
_ovewrite_named_param(kwargs, "transform_input", True)``); a checkpoint fine-tuned from those
weights loads without error into a model built without the flag and gives other logits. So, for a
zoo entry, :func:`rebuild_kwargs` combines, later ones winning:

1. :data:`LOAD_FLAGS`: flags that only cost time when weights are loaded anyway (``init_weights=False``,
   as torchvision sets it for pretrained weights; it also silences googlenet's FutureWarning);
2. :data:`PRETRAINED_FLAGS` when the checkpoint came from pretrained weights (``from_pretrained``;
   None means yes: fine-tuning starts from them, and the notes say so and how to change it);
3. flags read from the checkpoint itself (:data:`KEY_FLAGS`: ``aux_logits`` is on exactly when the
   auxiliary classifier's keys are there; a ViT's ``image_size`` from its position embedding and
   patch size);
4. the entry's own ``arch_kwargs``.
"""
from __future__ import annotations

import math
from typing import Any

__all__ = ["PRETRAINED_FLAGS", "KEY_FLAGS", "LOAD_FLAGS", "rebuild_kwargs"]

_INCEPTIONS = {"googlenet": "aux1.", "inception_v3": "AuxLogits.",
               "quantized_googlenet": "aux1.", "quantized_inception_v3": "AuxLogits."}

#: torchvision builder -> flags it sets when pretrained weights are requested (torchvision 0.15-0.2x).
PRETRAINED_FLAGS: dict[str, dict[str, Any]] = {name: {"transform_input": True} for name in _INCEPTIONS}

#: torchvision builder -> {flag: key prefix of the sub-module that exists exactly when the flag is on}.
KEY_FLAGS: dict[str, dict[str, str]] = {name: {"aux_logits": prefix} for name, prefix in _INCEPTIONS.items()}

#: torchvision builder -> flags that only save time when the weights are loaded afterwards.
LOAD_FLAGS: dict[str, dict[str, Any]] = {name: {"init_weights": False} for name in _INCEPTIONS}


def _vit_image_size(state_dict: dict) -> int | None:
    pos = next((v for k, v in state_dict.items() if k.endswith("encoder.pos_embedding")), None)
    conv = next((v for k, v in state_dict.items() if k.endswith("conv_proj.weight")), None)
    if pos is None or conv is None or pos.ndim != 3 or conv.ndim != 4:
        return None
    side = math.isqrt(int(pos.shape[1]) - 1)
    return side * int(conv.shape[-1]) if side * side == int(pos.shape[1]) - 1 else None


def rebuild_kwargs(arch: str, state_dict: dict, arch_kwargs: dict | None,
                   from_pretrained: bool | None) -> tuple[dict, list[str]]:
    """Constructor keyword arguments for ``arch`` (see the module docstring) and notes on the flags set.

    ``state_dict`` may still carry wrapper prefixes (keys are matched by suffix or substring).
    """
    user = dict(arch_kwargs or {})
    kind, _, name = arch.partition(":")
    if kind != "torchvision":
        return user, []
    kwargs: dict[str, Any] = dict(LOAD_FLAGS.get(name, {}))
    notes: list[str] = []
    flags = {k: v for k, v in PRETRAINED_FLAGS.get(name, {}).items() if k not in user}
    if flags and from_pretrained is not False:
        kwargs.update(flags)
        said = "from_pretrained: true" if from_pretrained else "from_pretrained not set: default true"
        shown = ", ".join(f"{k}={v}" for k, v in flags.items())
        notes.append(f"{arch} is built with {shown}, as torchvision builds it for pretrained weights "
                     f"({said}); for a model trained from scratch set from_pretrained: false, or give the "
                     "flags in arch_kwargs")
    for flag, prefix in KEY_FLAGS.get(name, {}).items():
        if flag not in user:
            kwargs[flag] = any(k.startswith(prefix) or f".{prefix}" in k for k in state_dict)
    if name.startswith("vit_") and "image_size" not in user:
        size = _vit_image_size(state_dict)
        if size is not None and size != 224:
            kwargs["image_size"] = size
            notes.append(f"{arch} is built with image_size={size}, read from the checkpoint's position embedding")
    kwargs.update(user)
    return kwargs, notes
