"""Stage 7: alerts and digests, rendered per channel and delivered from the outbox."""
