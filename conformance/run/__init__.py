"""One run of the harness: its options, its launch from any directory, its session, parallel workers."""
