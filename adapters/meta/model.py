"""CNAPsModel: frozen FiLM-able backbone + set encoder + FiLM generator + task-conditional head."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch
from torch import nn

from transfergraph.planner.common.arguments import check_bool, check_int_sequence, check_scalar
from transfergraph.planner.common.exceptions import InputError
from transfergraph.planner.common.checks import encode_labels
from transfergraph.planner.inputs.task import as_numpy

from transfergraph.adapters.meta.adapted import AdaptedClassifier, AdaptedFeatures, SourceClassifier
from transfergraph.adapters.meta.backbone import FiLMBackbone
from transfergraph.adapters.meta.film_generator import FilmGenerator
from transfergraph.adapters.meta.heads import (ClassifierGenerator, class_means, linear_logits, mahalanobis_as_linear, mahalanobis_head,
                    mahalanobis_logits, prototype_head)
from transfergraph.adapters.meta.set_encoder import SetEncoder

__all__ = ["CNAPsModel", "TaskParameters", "HEADS"]

#: Heads: "linear" = generated linear head (CNAPs), "mahalanobis" = Simple CNAPs, "proto" = nearest mean.
HEADS = ("linear", "mahalanobis", "proto")


@dataclass
class TaskParameters:
    """Everything ``adapt`` derives from one context set (differentiable during meta-training)."""

    film: list[tuple[torch.Tensor, torch.Tensor]] | None
    moments: list[tuple[torch.Tensor, torch.Tensor]] | None
    head: str
    tensors: tuple[torch.Tensor, ...]  # (W, b) for linear/proto, (mu, P) for mahalanobis
    frozen_tensors: tuple[torch.Tensor, ...] | None = None  # same head on un-FiLMed features (ensemble)


def _joint_head(params: TaskParameters) -> tuple[torch.Tensor, ...]:
    """The head over [FiLM features, frozen features] whose logits are the sum of the two heads.

    Linear: W = [W1, W2], b = b1 + b2. Mahalanobis: mu = [mu1, mu2], P = blockdiag(P1, P2).
    """
    if params.frozen_tensors is None:
        return params.tensors
    if params.head == "mahalanobis":
        (mu1, p1), (mu2, p2) = params.tensors, params.frozen_tensors
        d1, d2 = mu1.shape[1], mu2.shape[1]
        prec = p1.new_zeros(p1.shape[0], d1 + d2, d1 + d2)
        prec[:, :d1, :d1], prec[:, d1:, d1:] = p1, p2
        return torch.cat([mu1, mu2], 1), prec
    (w1, b1), (w2, b2) = params.tensors, params.frozen_tensors
    return torch.cat([w1, w2], 1), b1 + b2


class CNAPsModel(nn.Module):
    """A CNAPs-style meta-transferred model (Requeima et al. 2019; Simple CNAPs, Bateni et al. 2020).

    Parameters
    ----------
    n_source_classes : int
        Classes of the pre-training pool (the backbone's own head, used as a LEEP source).
    in_channels, widths : backbone image channels and stage widths (feature dim = widths[-1]).
    encoder_width, encoder_layers : set-encoder size (z_G has ``encoder_width`` entries).
    processor_layers : residual layers per FiLM processor.
    head : {"mahalanobis", "linear", "proto"}
        Task head: Simple-CNAPs Mahalanobis (default), CNAPs' generated linear head, or nearest mean.
        The defaults (Mahalanobis head, pooled within-class covariance, residual ensemble with the
        frozen-feature head) are the variant that matched the best frozen baseline in
        ``benchmarks/RESULTS.md`` (section 4); ``pooled_covariance=False, ensemble_frozen=False``
        is Simple CNAPs, ``head="linear"`` with those is CNAPs.
    classifier_mode : {"faithful", "residual"}
        Generated linear head: CNAPs' (w = nu + f(nu)) or a residual on the prototype head.
    film : bool
        Generate FiLM parameters (False = the frozen-feature baseline with the same head).
    task_norm : bool
        Normalise with context moments mixed with running moments (TaskNorm-style, learned mix).
    film_init_scale : float
        Std of the FiLM output scales r at initialisation (near zero => identity FiLM).
    mahalanobis_beta : float
        Ridge beta of the Mahalanobis covariance (initial value when learned).
    learn_shrinkage : bool
        Meta-learn the Mahalanobis ridge beta and the class-covariance weight kappa
        (lambda_c = n_c / (n_c + kappa)); large beta moves the head toward the prototype head.
    pooled_covariance : bool
        Mahalanobis task covariance from within-class deviations only (see ``heads.mahalanobis_head``).
    ensemble_frozen : bool
        Residual ensemble: logits = head(FiLM features) + head(frozen features), so the FiLM path
        learns a correction on top of the frozen-feature head.
    """

    def __init__(self, n_source_classes: int, *, in_channels: int = 1, widths: Sequence[int] = (32, 64, 64, 64),
                 encoder_width: int = 32, encoder_layers: int = 3, processor_layers: int = 2,
                 head: str = "mahalanobis", classifier_mode: str = "faithful", film: bool = True,
                 task_norm: bool = False, film_init_scale: float = 1e-3, mahalanobis_beta: float = 1.0,
                 learn_shrinkage: bool = False, pooled_covariance: bool = True, ensemble_frozen: bool = True) -> None:
        super().__init__()
        if head not in HEADS:
            raise InputError(f"head of CNAPsModel must be one of {HEADS}; got {head!r}.")
        check_scalar(mahalanobis_beta, "mahalanobis_beta", float, caller="CNAPsModel", min_val=0, include_boundaries="neither")
        check_scalar(n_source_classes, "n_source_classes", int, caller="CNAPsModel", min_val=2)
        for name, value, low in (("in_channels", in_channels, 1), ("encoder_width", encoder_width, 1),
                                 ("encoder_layers", encoder_layers, 1), ("processor_layers", processor_layers, 0)):
            check_scalar(value, name, int, caller="CNAPsModel", min_val=low)
        check_int_sequence(widths, "widths", caller="CNAPsModel")
        check_scalar(film_init_scale, "film_init_scale", float, caller="CNAPsModel", min_val=0)
        for name, value in (("film", film), ("task_norm", task_norm), ("learn_shrinkage", learn_shrinkage),
                            ("pooled_covariance", pooled_covariance), ("ensemble_frozen", ensemble_frozen)):
            check_bool(value, name, caller="CNAPsModel")
        self.hparams = dict(n_source_classes=n_source_classes, in_channels=int(in_channels), widths=[int(w) for w in widths],
                            encoder_width=int(encoder_width), encoder_layers=int(encoder_layers),
                            processor_layers=int(processor_layers), head=head, classifier_mode=classifier_mode,
                            film=bool(film), task_norm=bool(task_norm), film_init_scale=float(film_init_scale),
                            mahalanobis_beta=float(mahalanobis_beta), learn_shrinkage=bool(learn_shrinkage),
                            pooled_covariance=bool(pooled_covariance), ensemble_frozen=bool(ensemble_frozen))
        self.backbone = FiLMBackbone(in_channels, widths)
        self.source_head = nn.Linear(self.backbone.feature_dim, n_source_classes)
        self.set_encoder = SetEncoder(in_channels, encoder_width, encoder_layers)
        self.film_generator = FilmGenerator(encoder_width, widths, processor_layers, film_init_scale)
        self.classifier_generator = ClassifierGenerator(self.backbone.feature_dim, classifier_mode, film_init_scale)
        # TaskNorm-style mix a_l = sigmoid(norm_logits_l); starts mostly at the running moments.
        self.norm_logits = nn.Parameter(torch.full((len(widths),), -2.0))
        # Mahalanobis shrinkage (log beta, log kappa); learned only with learn_shrinkage=True.
        self.log_shrinkage = nn.Parameter(torch.tensor([float(np.log(mahalanobis_beta)), 0.0]))

    # ----- meta-parameters -------------------------------------------------------------------
    def meta_parameters(self) -> list[nn.Parameter]:
        """Parameters learned by episodic meta-training (the backbone and source head stay frozen)."""
        params = list(self.set_encoder.parameters()) + list(self.film_generator.parameters())
        if self.hparams["head"] == "linear":
            params += list(self.classifier_generator.parameters())
        if self.hparams["task_norm"]:
            params.append(self.norm_logits)
        if self.hparams["learn_shrinkage"] and self.hparams["head"] == "mahalanobis":
            params.append(self.log_shrinkage)
        return params

    def regularization(self) -> torch.Tensor:
        r"""\sum ||r||^2 over the FiLM output scales (pulls gamma to 1 and beta to 0)."""
        return self.film_generator.penalty()

    # ----- adaptation ------------------------------------------------------------------------
    def task_parameters(self, context_x: torch.Tensor, context_y: torch.Tensor, n_classes: int, *,
                        head: str | None = None, use_film: bool | None = None) -> TaskParameters:
        """FiLM, moments and head from a context set. context_x (n, C, H, W), context_y (n,) in [0, n_classes)."""
        head = head or self.hparams["head"]
        use_film = self.hparams["film"] if use_film is None else use_film
        film = self.film_generator(self.set_encoder(context_x)) if use_film else None
        moments = None
        if self.hparams["task_norm"] and use_film:
            moments = self.backbone.context_moments(context_x, film, torch.sigmoid(self.norm_logits))
        tensors = self._head(self.backbone(context_x, film, moments=moments), context_y, n_classes, head)
        frozen = None
        if self.hparams["ensemble_frozen"] and use_film:
            frozen = self._head(self.backbone(context_x), context_y, n_classes, head)
        return TaskParameters(film, moments, head, tensors, frozen)

    def _head(self, feats: torch.Tensor, labels: torch.Tensor, n_classes: int, head: str) -> tuple[torch.Tensor, ...]:
        if head == "mahalanobis":
            beta, kappa = self.log_shrinkage.exp()
            return tuple(mahalanobis_head(feats, labels, n_classes, beta, kappa, self.hparams["pooled_covariance"]))
        if head == "proto":
            return tuple(prototype_head(feats, labels, n_classes))
        return tuple(self.classifier_generator(class_means(feats, labels, n_classes)))

    def task_logits(self, params: TaskParameters, x: torch.Tensor) -> torch.Tensor:
        feats = self.backbone(x, params.film, moments=params.moments)
        if params.frozen_tensors is not None:
            feats = torch.cat([feats, self.backbone(x)], dim=1)
        tensors = _joint_head(params)
        if params.head == "mahalanobis":
            return mahalanobis_logits(feats, *tensors)
        return linear_logits(feats, *tensors)

    def episode_logits(self, context_x: torch.Tensor, context_y: torch.Tensor, query_x: torch.Tensor, n_classes: int,
                       **kwargs: Any) -> torch.Tensor:
        """Differentiable logits (n_query, n_classes) of the query set after adapting to the context set."""
        return self.task_logits(self.task_parameters(context_x, context_y, n_classes, **kwargs), query_x)

    def _check_inputs(self, context_inputs: Any) -> torch.Tensor:
        x = torch.from_numpy(np.array(as_numpy(context_inputs), dtype=np.float32, copy=True))
        if x.ndim == 3 and self.hparams["in_channels"] == 1:
            x = x.unsqueeze(1)
        if x.ndim != 4 or x.shape[1] != self.hparams["in_channels"]:
            raise InputError(f"context_inputs must have shape (n, {self.hparams['in_channels']}, H, W); got {tuple(x.shape)}.")
        if not torch.isfinite(x).all():
            raise InputError("context_inputs contains NaN or inf.")
        return x

    def adapt(self, context_inputs: Any, context_labels: Any, **kwargs: Any) -> AdaptedClassifier:
        """Adapt to a task in one forward pass (no gradient steps).

        Parameters
        ----------
        context_inputs : array or tensor, (n, C, H, W)
        context_labels : sequence of labels, (n,), at least 2 distinct values (any ints, any order)
        **kwargs : ``head=`` or ``use_film=`` overrides (e.g. the frozen-feature baselines).

        Returns
        -------
        AdaptedClassifier
            Frozen module; logits (m, C) over the context's distinct labels in sorted order
            (``.classes``). ``adapted.features`` gives the feature vector ([FiLM features, frozen
            features] with ``ensemble_frozen``); its last ``nn.Linear`` maps them (or, for the
            Mahalanobis head, their exact quadratic lift) to the logits, so pass
            ``feature_layer="features"`` to ``transfergraph.planner.Source`` for feature-based metrics.
        """
        x = self._check_inputs(context_inputs)
        y, classes = encode_labels(context_labels, func="CNAPsModel.adapt", arg="context_labels")
        if len(y) != len(x):
            raise InputError(f"context_inputs and context_labels must have the same length; got {len(x)} and {len(y)}.")
        if len(classes) < 2:
            raise InputError(f"context_labels must contain at least 2 classes; got {len(classes)}.")
        was_training = self.training
        self.eval()
        try:
            with torch.no_grad():
                params = self.task_parameters(x, torch.from_numpy(y), len(classes), **kwargs)
                tensors = _joint_head(params)
                if params.head == "mahalanobis":
                    lift, layer = mahalanobis_as_linear(*tensors)
                else:
                    weight, bias = tensors
                    lift, layer = nn.Identity(), nn.Linear(weight.shape[1], weight.shape[0])
                    layer.weight.copy_(weight)
                    layer.bias.copy_(bias)
                features = AdaptedFeatures(self.backbone, params.film, params.moments,
                                           concat_frozen=params.frozen_tensors is not None)
        finally:
            self.train(was_training)
        return AdaptedClassifier(features, lift, layer, classes.tolist(), params.head)

    # ----- the backbone's own classifier ------------------------------------------------------
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Source-class logits of the frozen backbone (no FiLM). (n, C, H, W) -> (n, n_source_classes)."""
        return self.source_head(self.backbone(x))

    def source_classifier(self) -> SourceClassifier:
        """A frozen copy of backbone + source head whose final ``nn.Linear`` takes the features."""
        return SourceClassifier(self.backbone, self.source_head)
