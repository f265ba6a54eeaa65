"""Judge backends, each implementing ``judges.base.Backend``; ``judges.registry`` names them.

Import a backend module only through the registry (or directly in its tests): ``transformers``
pulls in torch, which the web tier must never import.
"""
