"""The stages wired together: ingest -> featurize -> train -> predict, and the tasks.

Each ``run_*`` function is what a CLI command does, callable from Python too. Nothing here prints:
progress goes to the callbacks a function takes, and it returns a summary; ``serve/`` draws both.
"""

from postlens.pipeline.demo import DemoHooks, DemoReport, run_demo, run_demo_data
from postlens.pipeline.ingest import build_importer, run_ingest

__all__ = ["DemoHooks", "DemoReport", "build_importer", "run_demo", "run_demo_data", "run_ingest"]
