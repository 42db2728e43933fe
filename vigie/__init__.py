"""vigie: a streaming lookout for what people say to and about brands."""

__version__ = "0.1.0"
