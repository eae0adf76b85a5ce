"""veille: news monitoring and alerting for French digital-sovereignty policy."""

__version__ = "0.1.0"
