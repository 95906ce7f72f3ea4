"""gdjax: a JAX functional optimisation toolkit.

Models and losses are pure functions over parameter pytrees; ``gdjax.optim`` is
our own library of gradient transformations; ``gdjax.fit`` runs a whole
training as one compiled program.
"""

__version__ = "0.1.0"
