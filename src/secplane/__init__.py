"""secplane: a self-hosted security plane speaking Alibaba Cloud's OpenAPI."""

__version__ = "0.1.0"
