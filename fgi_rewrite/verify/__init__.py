"""Running original and rewrite side by side (the only stage besides bench that runs user code)."""
