"""Risk: pre-trade checks as pure functions, the engine that applies them, the audit log."""
