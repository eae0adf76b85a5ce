"""Stage 2: bytes into feed items (feeds, listing pages, sitemaps, watched regions).

Nothing is imported with the package: the worker pool reads its deadline from
`monitor.parse.limits` before anything parses."""
