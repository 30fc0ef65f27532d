"""The audit log: who did what, when, with the state before and after; append-only. `audit.trail` is
the one way to write it. It sits at the ground of the house, so every layer above can record what it did."""
