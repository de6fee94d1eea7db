"""Test and demo harness: a throwaway Redis, the bot as a real process, simulated users, an
SMTP server that keeps what it receives, and a real browser."""
