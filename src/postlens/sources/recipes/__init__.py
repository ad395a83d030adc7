"""Named recipes for real public datasets."""
