"""The registry's pure domain code (no Django): what an alias move changes for
clients (promotions), a version's feature profile and its drift (profiles)."""
