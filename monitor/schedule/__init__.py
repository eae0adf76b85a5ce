"""When things run: the only package that imports APScheduler."""
