"""The bench stage of the manyseeds pipeline."""
