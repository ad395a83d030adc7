"""The workspace: one DuckDB file, a content-addressed media folder and feature files."""
