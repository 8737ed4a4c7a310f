"""The serving app keeps no tables: its state is per process and in the shared cache."""
