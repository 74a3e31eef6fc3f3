"""The cloud side of the local agents: pairing codes, agent tokens, the job table and the relay."""
