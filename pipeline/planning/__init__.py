"""What a run fetches: `windows` cuts start times into the windows a vendor lists (pure),
`decisions` decides from recorded coverage what a sync or backfill must fetch (pure), and
`sources` reads a source's coverage and plans it (the I/O half)."""
