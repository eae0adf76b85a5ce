"""Tests of monitor.extract: page extraction and the work the pool does on each article."""
