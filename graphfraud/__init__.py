"""graphfraud: find collusion networks in medical-insurance claims (医保基金欺诈骗保)."""

__version__ = "0.1.0"

__all__ = ["__version__"]
