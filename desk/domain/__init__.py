"""The desk's pure domain code (no Django): the risk limits as a risk manager reads
them (limits)."""
