"""What the agent answers about posts and corpora: segments, popularity, trends, sentiment."""
