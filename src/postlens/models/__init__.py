"""Training stage: dataset assembly, baselines, the multimodal fusion network, imbalance, distillation.

Import from the submodules (``postlens.models.fusion`` ...); torch loads only when a model is used.
"""
