"""Config section ``data``: where task samples come from.

``kind`` (or the older ``dataset``) selects the source: ``digits`` and ``fashion_mnist`` (read into
memory, small), or a dataset that stays on disk and is read by the workers in batches
(:mod:`transfergraph.planner.inputs.lazy`): ``image_folder`` (``root`` holds one sub-folder per class), ``hf_datasets``
(``root`` is a folder written by ``datasets.Dataset.save_to_disk``) or ``npy`` (``root`` is a
``.npy`` array of inputs, memory-mapped, and ``labels`` a ``.npy`` of labels; a uint8/uint16 array of
images, ``(n, H, W)`` or ``(n, C, H, W)``, is read as pixels divided by 255/65535, as image files are).
Plugins add builders under other ``dataset`` names.
"""
from __future__ import annotations

from typing import Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, model_validator

from transfergraph.config.fields import ConfigPath, SBool, SFloat, SInt

__all__ = ["DataConfig", "LAZY_KINDS"]

#: data kinds read lazily from disk
LAZY_KINDS = ("image_folder", "hf_datasets", "npy")


class DataConfig(BaseModel):
    """Where task samples come from (defaults for every task)."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)

    kind: Optional[Literal["digits", "fashion_mnist", "image_folder", "hf_datasets", "npy"]] = Field(
        None, description="Data source kind (same as `dataset` for digits/fashion_mnist).")
    dataset: str = Field("digits", description="Dataset builder name: digits | fashion_mnist | a plugin's.")
    root: Optional[ConfigPath] = Field(None, description="Folder or file of the dataset (fashion_mnist, image_folder, "
                                                  "hf_datasets, npy).")
    labels: Optional[ConfigPath] = Field(None, description="npy: the .npy file of labels.")
    input_column: Optional[str] = Field(None, description="hf_datasets: the input column (default: image/img/...).")
    label_column: Optional[str] = Field(None, description="hf_datasets: the label column (default: label/labels).")
    split: Optional[str] = Field(None, description="hf_datasets: the split of a saved DatasetDict (default: train).")
    image_mode: Literal["RGB", "L"] = Field("RGB", description="image_folder and hf_datasets image columns: "
                                                               "images are converted to 3-channel RGB or 1-channel L.")
    image_size: SInt = Field(16, ge=4, le=1024, description="Images are resized to image_size x image_size "
                                                           "(image_folder, hf_datasets: only when set explicitly; "
                                                           "needed when their sizes differ).")
    test_fraction: SFloat = Field(0.3, gt=0.0, lt=0.9, description="Held-out share of each dataset (validation only).")
    max_per_class: Optional[SInt] = Field(None, ge=2, description="Cap on samples per class taken from the dataset.")
    disjoint: SBool = Field(False, description="Each task, trained external model and the meta-trained backbone "
                                                 "draws from its own disjoint share of the training split "
                                                 "(transfergraph.jobs.shares); a task's `samples_from` opts into a "
                                                 "deliberate overlap.")

    @model_validator(mode="after")
    def _kind(self) -> "DataConfig":
        if self.kind is not None and "dataset" in self.model_fields_set and self.dataset != self.kind:
            raise ValueError(f"kind {self.kind!r} and dataset {self.dataset!r} disagree; give one of them")
        if self.source in LAZY_KINDS and not self.root:
            raise ValueError(f"kind {self.source!r} needs `root` (the dataset's folder or file)")
        if self.source == "npy" and not self.labels:
            raise ValueError("kind 'npy' needs `labels` (a .npy file of labels)")
        return self

    @property
    def source(self) -> str:
        """The effective data source: ``kind`` when given, else ``dataset``."""
        return self.kind or self.dataset
