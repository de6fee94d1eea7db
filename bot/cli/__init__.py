"""Operator commands: keys (rotate, check, seal), audit export and admin stats, doctor."""
