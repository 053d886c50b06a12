"""The HealLog reference server: a clean implementation of CONTRACT.md and its defect catalogue (see README.md)."""
