"""The dataset: schema and checks, loading, which studies can be pooled and why, table export."""
