"""Statistics, arrays in and results out: effect sizes, pooling, MH/Peto, subgroups, bias."""
