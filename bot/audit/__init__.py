"""The audit log: the durable stream, the outbox to the audit channel, the events a
change owes, merged refusals, and the check that a post arrived."""
