"""Live execution: what a real venue's client speaks, what it reports, and reconciliation."""
