"""The journal's pure domain code (no Django): the trade record format, the R-multiple."""
