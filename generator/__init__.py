"""hipponot-pubsub's build side: the registry loader, the code generator and the compatibility checker.

Nothing here is imported by generated code or by the runtime service at start-up: the runtime reads the
manifest that `pubsub generate` writes into ``generated/``.
"""
