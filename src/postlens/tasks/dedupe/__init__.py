"""Duplicate posts across sources: the same id, the same address, near-duplicate text or images.

``urls`` spells addresses one way, ``minhash`` finds similar texts without comparing all pairs,
``images`` gathers perceptual hashes, ``links`` chains the links into clusters; the pipeline step
``postlens.pipeline.dedupe`` runs them over a workspace and stores the clusters.
"""
