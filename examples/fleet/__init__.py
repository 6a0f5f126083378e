"""Many API keys synced by many worker processes on arq: see README.md here."""
