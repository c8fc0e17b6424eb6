"""The analysis stage of the manyseeds pipeline."""
