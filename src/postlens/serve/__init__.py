"""Ways in: the CLI (and later the HTTP API, MCP server and dashboard)."""
