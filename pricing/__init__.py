"""Pricing engine: pure functions from catalogue, rules and an instant to resolved prices."""
