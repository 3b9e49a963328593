"""Signal plugins: the base protocol and the three Phase 1 alphas."""
