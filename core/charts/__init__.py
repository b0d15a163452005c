"""Charts: frames in, Altair charts out (forest, bias, sensitivity)."""
