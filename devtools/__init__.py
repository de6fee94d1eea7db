"""Tools the tests, the demo, the soak and the benchmark share: the Slack Web API stand-in
and the harness that runs the real bot, Redis in every mode, and a simulated Slack client."""
