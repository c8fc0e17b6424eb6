"""The data stage of the manyseeds pipeline."""
