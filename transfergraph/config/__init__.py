"""The YAML job configuration, validated with pydantic (unknown keys rejected with their path).

This module imports neither torch nor Ray. A config names datasets, shifts and model builders from
registries (``adapters``); it can never execute code or import arbitrary modules. Third-party
builders arrive only through the documented ``transfergraph.plugins`` entry point.

Example (``configs/demo.yaml``)::

    seed: 0
    data: {dataset: digits, image_size: 16}
    tasks:
      - {name: digits_0to4, classes: [0, 1, 2, 3, 4]}
      - {name: digits_rot30, shift: {rotate: 30}}
    models:
      per_task: true
      external: [{name: ext_all_digits}]
    scoring: {metrics: [leep, nce, h_score], executor: ray}
    plan: {metric: leep, top_k: 3}
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal, Optional, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from transfergraph.planner.common.exceptions import ConfigError
from transfergraph.planner.common.io import expand_home

from transfergraph.config.data import DataConfig
from transfergraph.config.models import ExternalModelSpec, PreprocessSpec
from transfergraph.config.fields import CacheSetting, ConfigPath, SBool, SFloat, SInt, TaskName, format_errors
from transfergraph.config.yaml_rules import YamlProblems, load_yaml

__all__ = [
    "JobConfig",
    "DataConfig",
    "TaskSpec",
    "TrainingConfig",
    "ExternalModelSpec",
    "PreprocessSpec",
    "MetaConfig",
    "ModelsConfig",
    "ScoringConfig",
    "PlanConfig",
    "ValidateConfig",
    "load_config",
    "parse_config",
]

Label = Union[SInt, str]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class TaskSpec(_Strict):
    """One target task cut from a dataset: a class subset, a domain shift, an imbalance."""

    name: TaskName = Field(..., min_length=1)
    dataset: Optional[str] = Field(None, description="Overrides data.dataset.")
    classes: Optional[list[Label]] = Field(None, description="Class subset; default: all classes.")
    shift: dict[str, Union[SFloat, SBool]] = Field(default_factory=dict, description="e.g. {rotate: 30, noise: 0.1}")
    imbalance: Optional[SFloat] = Field(None, ge=1.0, description="Largest/smallest class size ratio (geometric).")
    n_per_class: Optional[SInt] = Field(None, ge=2, description="Training samples per class (before imbalance).")
    samples_from: Optional[str] = Field(None, description="With data.disjoint: draw from this other task's share "
                                                          "of the training split (a deliberate overlap the plan's "
                                                          "leakage check reports).")

    @field_validator("classes")
    @classmethod
    def _classes(cls, v: Optional[list[Label]]) -> Optional[list[Label]]:
        if v is not None and len(set(v)) != len(v):
            raise ValueError(f"classes must be distinct; got {v}")
        return v  # at least 2, each in the dataset: checked when the task is built (transfergraph.jobs.suite)


class TrainingConfig(_Strict):
    """How source models are trained (seeded, deterministic on CPU)."""

    arch: str = "small_cnn"
    width: SInt = Field(16, ge=1, le=256)
    feature_dim: SInt = Field(64, ge=2, le=4096)
    epochs: SInt = Field(8, ge=1, le=1000)
    batch_size: SInt = Field(64, ge=2)
    lr: SFloat = Field(5e-3, gt=0.0, lt=10.0)
    weight_decay: SFloat = Field(1e-4, ge=0.0)


class MetaConfig(_Strict):
    """A CNAPs-style meta-trained model (transfergraph.adapters.meta) and its adapted per-task models."""

    enabled: SBool = False
    pretrain_steps: SInt = Field(250, ge=1, description="Supervised backbone pre-training steps.")
    meta_steps: SInt = Field(60, ge=1, description="Episodic meta-training steps.")
    seconds: Optional[SFloat] = Field(None, gt=0, description="Wall-clock budget; stops at whichever comes first.")
    context_shots: Optional[SInt] = Field(None, ge=1, description="Context samples per class used to adapt to a task.")
    adapted_as: Literal["model", "task"] = Field(
        "task", description="task: a model adapted to task i is task i's node (task->task edges, no self-edge); "
                            "model: a node of its own")
    checkpoint: Optional[ConfigPath] = Field(None, description="Load a meta-trained checkpoint instead of training.")


class ModelsConfig(_Strict):
    per_task: SBool = Field(True, description="Train one source model per task (the task's node in the graph).")
    training: TrainingConfig = TrainingConfig()
    external: list[ExternalModelSpec] = Field(default_factory=list)
    meta: MetaConfig = MetaConfig()
    model_dir: Optional[ConfigPath] = Field(None, description="Where trained models are cached (default: OUT/models).")


class ScoringConfig(_Strict):
    metrics: list[str] = Field(default_factory=lambda: ["leep"], min_length=1)
    executor: Literal["local", "ray"] = "ray"
    address: Optional[str] = Field(None, description="Ray cluster address (else RAY_ADDRESS, else a local Ray).")
    workers: Optional[SInt] = Field(None, ge=1, description="Ray worker CPUs (local Ray) / max tasks in flight.")
    cache: CacheSetting = Field(True, description="Score cache folder; true = OUT/cache, false = none.")
    batch_size: SInt = Field(256, ge=1, description="Samples per forward batch.")
    device: Optional[str] = Field(None, description="cpu | cuda | cuda:N (default: where each model is).")
    gpus_per_task: SFloat = Field(0, ge=0, description="Ray executor: GPUs reserved per task (e.g. 0.5).")
    num_workers: SInt = Field(0, ge=0, description="DataLoader reader processes per job (on-disk data).")
    pairs_fraction: Optional[SFloat] = Field(
        None, gt=0, le=1, description="Score this share of the (source, target) pairs and predict the rest "
                                      "(each target's predicted plan.top_k are then scored exactly); default all.")

    @field_validator("metrics")
    @classmethod
    def _known_and_unique(cls, v: list[str]) -> list[str]:
        from transfergraph.planner.metrics import REGISTRY  # pure NumPy; no torch or Ray

        unknown = [m for m in v if m not in REGISTRY]
        if unknown:
            raise ValueError(f"unknown metric(s) {unknown}; registered: {sorted(REGISTRY)}")
        if len(set(v)) != len(v):
            raise ValueError(f"metrics must be distinct; got {v}")
        return v

    @field_validator("device")
    @classmethod
    def _device_spelling(cls, v: Optional[str]) -> Optional[str]:
        from transfergraph.config.devices import device_spelling_problem

        if v is not None and device_spelling_problem(v):
            raise ValueError(device_spelling_problem(v))
        return v


class PlanConfig(_Strict):
    metric: Optional[str] = Field(None, description="Metric whose normalized score weights the graph (default: first).")
    top_k: SInt = Field(3, ge=1)
    budget: Optional[SInt] = Field(None, ge=1)
    n_groups: Optional[SInt] = Field(None, ge=1)
    max_group_size: Optional[SInt] = Field(None, ge=1)
    centered: SBool = True
    grouping_affinity: Literal["transfer", "mutual", "symmetric"] = Field(
        "transfer", description="How task->task scores become co-training affinity: transfer (w(u->t) as scored) | "
                                "mutual (min of both directions) | symmetric (their mean).")
    curriculum_start: Optional[str] = None
    curriculum_objective: Literal["tree", "chain", "cumulative", "periphery_core", "max_dissimilar_path",
                                  "final_serves_all", "dissimilar_chain"] = "dissimilar_chain"
    time_limit: SFloat = Field(60.0, gt=0)
    sources_from: Union[Literal["all", "external", "tasks"], list[str]] = Field(
        "all", description="Sources the plan may recommend: all | external (model nodes) | tasks (the tasks' own "
                           "models) | a list of source names (or NAME,NAME); groups and curriculum still use every "
                           "task->task edge.")

    @field_validator("sources_from", mode="before")
    @classmethod
    def _sources_from_names(cls, v):
        """``"a,b"`` (the command line's form) is the list ``[a, b]``; a keyword stays a keyword."""
        if isinstance(v, str) and v not in ("all", "external", "tasks"):
            return [name.strip() for name in v.split(",")]
        return v

    @field_validator("sources_from")
    @classmethod
    def _sources_from(cls, v):
        from transfergraph.planner.common.exceptions import InputError
        from transfergraph.planner.decisions.source_scope import check_sources_from

        if isinstance(v, list):
            try:
                check_sources_from(v, caller="the config")
            except InputError as exc:
                raise ValueError(str(exc)) from None
        return v


class DecisionsConfig(_Strict):
    """``validate.decisions``: train groupings and curricula for real (``transfergraph validate --decisions``)."""

    tasks: Optional[list[str]] = Field(None, description="Tasks to validate on (default: the tasks of the plan's own "
                                                           "groups in OUT/plan.json, whole groups, at most 6; without "
                                                           "a plan, the first five).")
    seeds: SInt = Field(3, ge=1, le=20, description="Training seeds (>= 5 for headline numbers).")
    steps: SInt = Field(100, ge=1, description="Steps per task in every group network (equal per-task budget).")
    curriculum_steps: SInt = Field(60, ge=1, description="Steps per task of the continual learner.")
    batch: SInt = Field(32, ge=2, description="Examples per task per step.")
    train_per_class: Optional[SInt] = Field(None, ge=2, description="Cap on training images per class.")
    n_curriculum: Optional[SInt] = Field(None, ge=2, le=6, description="Tasks in the curriculum (default min(4, n)).")
    groups: list[SInt] = Field(default_factory=lambda: [2, 3], description="Group budgets k to judge.")
    learners: list[Literal["naive", "replay"]] = Field(default_factory=lambda: ["naive"], min_length=1)


class ValidateConfig(_Strict):
    methods: list[Literal["retrain_head", "fine_tune", "meta_transfer"]] = Field(
        default_factory=lambda: ["retrain_head", "fine_tune"], min_length=1)
    pairs: Optional[list[tuple[str, str]]] = Field(None, description="Explicit (source, target) pairs; default all.")
    n_pairs: Optional[SInt] = Field(None, ge=1, description="Seeded sample of this many pairs.")
    fine_tune_epochs: SInt = Field(3, ge=1)
    cache: CacheSetting = True
    decisions: Optional[DecisionsConfig] = Field(None, description="Settings of `validate --decisions`.")


#: the graph node of the meta-trained backbone (``transfergraph.adapters.meta.sources.BACKBONE_SOURCE``; not
#: imported here, which would import torch)
META_BACKBONE_NODE = "cnaps_backbone"


class JobConfig(_Strict):
    """A whole transfergraph job."""

    name: str = "transfergraph"
    seed: SInt = Field(0, ge=0)
    data: DataConfig = DataConfig()
    tasks: list[TaskSpec] = Field(..., min_length=2)
    models: ModelsConfig = ModelsConfig()
    scoring: ScoringConfig = ScoringConfig()
    plan: PlanConfig = PlanConfig()
    validate_: ValidateConfig = Field(ValidateConfig(), alias="validate")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _cross_checks(self) -> "JobConfig":
        names = [t.name for t in self.tasks]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"tasks: names must be unique; duplicated {dup}")
        for t in self.tasks:
            if t.samples_from is None:
                continue
            donor = next((d for d in self.tasks if d.name == t.samples_from), None)
            if donor is None or donor is t or donor.samples_from is not None:
                raise ValueError(f"tasks ({t.name}).samples_from: expected the name of another task that has no "
                                 f"samples_from of its own; got {t.samples_from!r}; tasks: {names}")
            if not self.data.disjoint:
                raise ValueError(f"tasks ({t.name}).samples_from needs data.disjoint: true (without it every task "
                                 "draws from the whole split)")
            if donor.classes is not None and (t.classes is None or not set(t.classes) <= set(donor.classes)):
                raise ValueError(f"tasks ({t.name}).classes must be a subset of {t.samples_from!r}'s classes "
                                 f"{donor.classes} (it draws from that task's share); got {t.classes}")
            if (t.dataset or self.data.source) != (donor.dataset or self.data.source):
                raise ValueError(f"tasks ({t.name}).samples_from: {t.samples_from!r} is cut from another dataset")
        for m in self.models.external:
            if m.samples_from is None:
                continue
            donor = next((d for d in self.tasks if d.name == m.samples_from and d.samples_from is None), None)
            if donor is None:
                raise ValueError(f"models.external ({m.name}).samples_from: expected the name of a task that has no "
                                 f"samples_from of its own; got {m.samples_from!r}; tasks: {names}")
            if not self.data.disjoint:
                raise ValueError(f"models.external ({m.name}).samples_from needs data.disjoint: true")
            if donor.classes is not None and m.classes is not None and not set(m.classes) <= set(donor.classes):
                raise ValueError(f"models.external ({m.name}).classes must be a subset of {m.samples_from!r}'s "
                                 f"classes {donor.classes}; got {m.classes}")
            if (m.dataset or self.data.source) != (donor.dataset or self.data.source):
                raise ValueError(f"models.external ({m.name}).samples_from: {m.samples_from!r} is cut from another dataset")
        ext = [m.name for m in self.models.external]
        clash = sorted(set(ext) & set(names)) + sorted({n for n in ext if ext.count(n) > 1})
        if clash:
            raise ValueError(f"models.external: names must be unique and differ from task names; clashing {clash}")
        own = sorted(set(ext) & {f"{n}.cnn" for n in names}) if self.models.per_task else []
        if own:  # the per-task models are sources named TASK.cnn: two sources of one name
            raise ValueError(f"models.external: {own} would be named like the per-task model of task "
                             f"{own[0][:-4]!r} (models.per_task: true names it {own[0]!r}); rename the entry")
        if not self.models.per_task and not self.models.external and not self.models.meta.enabled:
            raise ValueError("models: no sources; set per_task: true, add models.external, or enable models.meta")
        metric = self.plan.metric or self.scoring.metrics[0]
        if metric not in self.scoring.metrics:
            raise ValueError(f"plan.metric {metric!r} must be one of scoring.metrics {self.scoring.metrics}")
        if self.plan.curriculum_start is not None and self.plan.curriculum_start not in names:
            raise ValueError(f"plan.curriculum_start {self.plan.curriculum_start!r} is not a task name; tasks: {names}")
        if isinstance(self.plan.sources_from, list):  # checked here, before any model is trained or pair scored
            known = set(names) | set(ext) | ({META_BACKBONE_NODE} if self.models.meta.enabled else set())
            unknown = [n for n in self.plan.sources_from if n not in known]
            if unknown:
                raise ValueError(f"plan.sources_from names {unknown}, which are not source nodes of this config; "
                                 f"its source nodes: {sorted(known)} (or all | external | tasks)")
        if self.plan.n_groups is not None and self.plan.max_group_size is not None:
            if self.plan.n_groups * self.plan.max_group_size < len(names):
                raise ValueError(
                    f"plan: n_groups ({self.plan.n_groups}) x max_group_size ({self.plan.max_group_size}) "
                    f"cannot hold {len(names)} tasks; raise either one"
                )
        if "meta_transfer" in self.validate_.methods and not self.models.meta.enabled:
            raise ValueError("validate.methods has meta_transfer but models.meta.enabled is false; enable it or drop the method")
        return self

    @property
    def plan_metric(self) -> str:
        return self.plan.metric or self.scoring.metrics[0]


def parse_config(data: Any, *, source: str = "<dict>") -> JobConfig:
    """Validate a mapping (e.g. parsed YAML) into a :class:`JobConfig`; raises :class:`ConfigError`."""
    if not isinstance(data, dict):
        raise ConfigError(f"invalid config {source}: the top level must be a mapping of keys; got {type(data).__name__}.")
    try:
        return JobConfig.model_validate(data)
    except ValidationError as err:
        raise ConfigError(format_errors(err, source)) from None


def load_config(path: str | os.PathLike) -> JobConfig:
    """Read and validate a YAML config file (a leading ``~`` in ``path`` is the home folder); raises
    :class:`ConfigError` naming the file and key.

    The file is read as written (:mod:`transfergraph.config.yaml_rules`): ``010`` stays the string
    "010", ``1:30`` and ``2024-01-01`` stay strings, unquoted ``yes``/``no``/``on``/``off`` and a key
    given twice are errors that name the key and its lines.
    """
    path = Path(expand_home(path))
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist (or is not a file).")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path} cannot be read: {exc}.") from None
    try:
        data = load_yaml(text)  # YAML 1.2 scalars, duplicate keys refused (transfergraph.config.yaml_rules)
    except YamlProblems as exc:
        raise ConfigError(f"invalid config {path}:\n" + "\n".join(f"  - {line}" for line in exc.lines)) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        if isinstance(exc, yaml.reader.ReaderError):  # a control character in the file: no mark, a position
            where = f" at line {text.count(chr(10), 0, exc.position) + 1}"
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"config file {path} is not valid YAML{where}: {problem}.") from None
    return parse_config(data, source=str(path))
