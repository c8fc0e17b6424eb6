"""The training stage of the manyseeds pipeline."""
