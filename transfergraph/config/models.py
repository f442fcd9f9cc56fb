"""Config section ``models.external[*]``: external source models (trained here, or loaded from a zoo).

An entry either trains a model here on a broader pool (``dataset``/``classes``/``shift``) or loads one:
``checkpoint`` alone (a file written by ``transfergraph.adapters.models.save_model``), or ``arch`` + ``checkpoint``
(a plain ``state_dict``) where ``arch`` is ``"torchvision:NAME"``, ``"timm:NAME"`` or a registered
architecture (plugins). ``preprocess`` maps the task images to the model's input; omitted, the
architecture's own defaults apply (torchvision/timm; none for other architectures); given, its
fields are used and a missing ``mean``/``std`` falls back to the architecture's.

The model is rebuilt as the checkpoint's was: ``from_pretrained`` (default true) sets the constructor
flags the library sets for pretrained weights (``transfergraph.adapters.models.builder_flags``),
flags the checkpoint shows (googlenet's auxiliary heads, a ViT's image size) are read from it, and
``arch_kwargs`` (passed to the constructor, checked against it) win over both. ``arch_kwargs``,
``from_pretrained`` and ``num_classes`` apply only to an entry with ``checkpoint``.
"""
from __future__ import annotations

from typing import Literal, Optional, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from transfergraph.config.fields import ConfigPath, ModelName, SBool, SFloat, SInt

__all__ = ["PreprocessSpec", "ExternalModelSpec"]

Label = Union[SInt, str]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class PreprocessSpec(_Strict):
    """Input preprocessing of one source model (applied to each batch, in this order)."""

    channels: Optional[Literal[1, 3]] = Field(None, description="1 -> 3 repeats the channel, 3 -> 1 averages.")
    resize: Optional[SInt] = Field(None, ge=1, le=4096, description="Shorter side to this many pixels.")
    center_crop: Optional[SInt] = Field(None, ge=1, le=4096, description="Central square crop size.")
    mean: Optional[list[SFloat]] = Field(None, min_length=1, max_length=4)
    std: Optional[list[SFloat]] = Field(None, min_length=1, max_length=4)

    @field_validator("channels", mode="before")
    @classmethod
    def _channels_not_bool(cls, v):
        if isinstance(v, bool):  # Literal[1, 3] alone takes `true` for 1
            raise ValueError(f"expected 1 or 3; got bool {v}")
        return v

    @model_validator(mode="after")
    def _mean_std(self) -> "PreprocessSpec":
        if self.std is not None and any(s <= 0 for s in self.std):
            raise ValueError(f"std must be > 0; got {self.std}")
        if self.mean is not None and self.std is not None and len(self.mean) != len(self.std):
            raise ValueError(f"mean and std need the same length; got {len(self.mean)} and {len(self.std)}")
        return self


class ExternalModelSpec(_Strict):
    """An external source model: trained here on a broader pool, or loaded from a checkpoint."""

    name: ModelName = Field(..., min_length=1)
    dataset: Optional[str] = None
    classes: Optional[list[Label]] = None
    shift: dict[str, Union[SFloat, SBool]] = Field(default_factory=dict)
    checkpoint: Optional[ConfigPath] = Field(None, description="A save_model file, or a state_dict when `arch` is given.")
    arch: Optional[str] = Field(None, description="torchvision:NAME | timm:NAME | a registered architecture.")
    num_classes: Optional[SInt] = Field(None, ge=1, description="Output classes (default: read from the checkpoint).")
    arch_kwargs: dict[str, Union[SInt, SFloat, str, SBool]] = Field(
        default_factory=dict, description="Constructor arguments of the architecture (checked against the "
                                          "constructor when the model is built; they win over from_pretrained).")
    from_pretrained: Optional[SBool] = Field(
        None, description="The checkpoint was fine-tuned from the library's pretrained weights: build the "
                          "architecture with the flags the library sets for them (torchvision googlenet/inception_v3: "
                          "transform_input=True). Default (null): true; false for a model trained from scratch.")
    preprocess: Optional[PreprocessSpec] = None
    feature_layer: Optional[str] = Field(None, description="Module whose output are the features (default: "
                                                           "the input of the last nn.Linear).")
    pooling: Optional[Literal["avg", "max", "flatten"]] = Field(None, description="For 4-D feature maps.")
    samples_from: Optional[str] = Field(None, description="With data.disjoint: train on this task's share of the "
                                                          "training split (a deliberate overlap that the plan's "
                                                          "leakage check reports, labelled as such).")

    @model_validator(mode="after")
    def _checkpoint_xor_training(self) -> "ExternalModelSpec":
        if self.checkpoint and (self.classes is not None or self.shift or self.dataset or self.samples_from):
            raise ValueError(
                "give either `checkpoint` (load a trained model) or `dataset`/`classes`/`shift` (train one), not both"
            )
        if self.arch and ":" in self.arch and not self.checkpoint:
            raise ValueError(f"arch {self.arch!r} needs `checkpoint` (a local state_dict); "
                             "transfergraph never downloads weights")
        loading = [k for k in ("arch_kwargs", "from_pretrained", "num_classes") if getattr(self, k) not in (None, {})]
        if loading and not self.checkpoint:
            raise ValueError(f"{', '.join(loading)} apply to a model loaded from `checkpoint`; this entry trains "
                             "a model here (models.training sets its architecture)")
        return self
