"""Datasets, models and CNAPs-style meta-transfer for transfergraph."""
