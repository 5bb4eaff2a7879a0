"""Helpers the test suites share: hosts that misbehave on purpose, and the like."""
