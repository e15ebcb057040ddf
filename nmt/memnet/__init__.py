"""Memory networks: a reader that answers questions about a story through a key-value memory."""
