"""Observability: request context, structured logs, scrubbing and Prometheus metrics.

Nothing here knows about secrets' contents; it sees ids, kinds, outcomes and times.
"""
