"""Scraping web pages that allow it: fetching (robots, limits, SSRF guard) and post extraction."""
