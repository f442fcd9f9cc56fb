"""Source models trained here (no downloaded weights): a small CNN, its seeded trainer, checkpoints.

Architectures are looked up by name in :data:`ARCHITECTURES`; third-party packages can add their own
through the ``transfergraph.plugins`` entry point (see README, "Plugins").
"""
from transfergraph.adapters.models.checkpoint import ARCHITECTURES, load_model, save_model
from transfergraph.adapters.models.small_cnn import SmallCNN
from transfergraph.adapters.models.training import predict_logits, train_classifier

__all__ = ["SmallCNN", "train_classifier", "predict_logits", "save_model", "load_model", "ARCHITECTURES"]
