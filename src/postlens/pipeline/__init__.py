"""The stages wired together: ingest -> featurize -> (later) train -> evaluate.

Each ``run_*`` function is what a CLI command does, callable from Python too; it owns progress
display (on the given console) but no argument parsing.
"""

from postlens.pipeline.demo import run_demo
from postlens.pipeline.ingest import build_importer, run_demo_data, run_ingest

__all__ = ["build_importer", "run_demo", "run_demo_data", "run_ingest"]
