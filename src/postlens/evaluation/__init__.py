"""Leak-free splits and the metrics the training stage reports."""
