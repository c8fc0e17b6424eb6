"""The figures stage of the manyseeds pipeline."""
