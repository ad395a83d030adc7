"""Feature extractors, one file per modality; see base.py for the contract."""
