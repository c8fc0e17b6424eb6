"""The models stage of the manyseeds pipeline."""
