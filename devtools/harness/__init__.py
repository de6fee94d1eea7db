"""Test and demo harness: a throwaway Redis, the bot as a real process, simulated users."""
