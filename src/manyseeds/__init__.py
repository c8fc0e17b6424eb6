"""manyseeds: many seeds of a network, trained at once, compared with many people.

Reproduces Fung, Ratan Murty & Rahnev (2025), "Human-like individual
differences emerge from random weight initializations in neural networks".
The pipeline runs data -> models -> training -> behaviour -> analysis ->
figures; `manyseeds reproduce` drives all of it.
"""

__version__ = "0.1.0"
