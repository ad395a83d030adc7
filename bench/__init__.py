"""postlens benchmarks: scripts that print figures (no assertions); ``python -m bench`` runs the suite."""
