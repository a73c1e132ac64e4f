"""``vsrgan evaluate`` and ``vsrgan compare``: scores, their report (JSON, CSV, plots, HTML) and comparison videos."""
