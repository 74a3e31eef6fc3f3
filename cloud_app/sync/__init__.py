"""The sync engine's pure core: decisions from state and events, no I/O (runners perform the effects)."""
