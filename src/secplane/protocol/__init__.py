"""The Alibaba Cloud RPC wire: signatures, parameter decoding, rendering, the error envelope.

Knows nothing about security groups or any other resource.
"""
