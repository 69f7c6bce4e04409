"""Storage behind the engine's Lookup: the embedded SQLite store used by the CLI."""
