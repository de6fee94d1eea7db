"""The soak test: minutes of mixed load against the real bot while Redis restarts, Slack
fails in bursts and the bot is killed, then invariants checked against a ledger.

    python -m scripts.soak --minutes 10      (make soak; `--short` is what CI runs)
"""
