"""affectjax: five affective-computing and cross-market systems on one sharded JAX trainer."""

__version__ = "0.1.0"
