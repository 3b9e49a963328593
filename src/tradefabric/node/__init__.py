"""Nodes: the kernel that wires components together, and the runners built on it."""
