"""Execution: orders and their state machine, positions, balances, the simulated venue."""
