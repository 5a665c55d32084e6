"""onboard: batch import of a reseller's new customers into a billing database."""

__version__ = "0.2.0"
