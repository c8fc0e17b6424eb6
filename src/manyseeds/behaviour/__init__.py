"""The behaviour stage of the manyseeds pipeline."""
