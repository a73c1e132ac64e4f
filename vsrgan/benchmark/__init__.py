"""``vsrgan bench``: stage timings, the two reference pipelines, their pipe helpers and FLOP counting."""
