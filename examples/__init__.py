"""Programs built on the SDK, each run by a test (not part of the installed package)."""
