"""Whole-system tests: real processes, the container, every part at once."""
