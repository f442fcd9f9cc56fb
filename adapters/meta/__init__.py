"""CNAPs-style meta-transferred models (Requeima et al. 2019; Simple CNAPs, Bateni et al. 2020).

A :class:`CNAPsModel` adapts to a task's labeled context set in one forward pass (no gradient
steps): a set encoder summarises the context images, a FiLM generator turns the summary into
per-channel scales and shifts of the frozen backbone, and a head (generated linear, Mahalanobis or
prototype) is built from the adapted class statistics. :meth:`CNAPsModel.adapt` returns a frozen
classifier usable as ``transfergraph.planner.Source(name, model=adapted)``.

Training: :func:`pretrain_backbone` (supervised, on a widened class pool) then :func:`meta_train`
(episodes from learn2learn ``Taskset``s, imported lazily). Planner glue: :func:`tasks_from_taskset`,
:func:`build_meta_sources`. Demo recipe: :func:`train_demo_meta_model`.
"""
from transfergraph.adapters.meta.adapted import AdaptedClassifier, AdaptedFeatures, SourceClassifier
from transfergraph.adapters.meta.backbone import FiLMBackbone
from transfergraph.adapters.meta.checkpoint import load_checkpoint, save_checkpoint
from transfergraph.adapters.meta.demo import train_demo_meta_model
from transfergraph.adapters.meta.episodes import EpisodeSampler, make_taskset, split_episode
from transfergraph.adapters.meta.film_generator import FilmGenerator
from transfergraph.adapters.meta.heads import ClassifierGenerator, QuadraticLift, mahalanobis_head, prototype_head
from transfergraph.adapters.meta.model import HEADS, CNAPsModel
from transfergraph.adapters.meta.pools import ROTATIONS, ROTATIONS_INVERTED, ROTATIONS_LOWRES, TRANSFORMS, ClassPool
from transfergraph.adapters.meta.set_encoder import SetEncoder
from transfergraph.adapters.meta.sources import BACKBONE_SOURCE, build_meta_sources
from transfergraph.adapters.meta.tasks import tasks_from_taskset
from transfergraph.adapters.meta.training import meta_train, pretrain_backbone

__all__ = [
    "CNAPsModel", "HEADS", "AdaptedClassifier", "AdaptedFeatures", "SourceClassifier",
    "FiLMBackbone", "SetEncoder", "FilmGenerator", "ClassifierGenerator", "QuadraticLift",
    "mahalanobis_head", "prototype_head",
    "pretrain_backbone", "meta_train", "save_checkpoint", "load_checkpoint",
    "tasks_from_taskset", "build_meta_sources", "BACKBONE_SOURCE", "train_demo_meta_model",
    "ClassPool", "TRANSFORMS", "ROTATIONS", "ROTATIONS_INVERTED", "ROTATIONS_LOWRES",
    "make_taskset", "split_episode", "EpisodeSampler",
]
