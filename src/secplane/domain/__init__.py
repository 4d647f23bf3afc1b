"""Pure logic: no database, no HTTP. Plain values in, plain values out."""
