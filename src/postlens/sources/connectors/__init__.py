"""Connectors of ``postlens collect``: platform APIs paged into Posts, with cursors, rate limits and retries."""
