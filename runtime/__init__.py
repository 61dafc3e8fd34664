"""hipponot-pubsub runtime: envelope, boundary validation, bus, adapters and the HTTP service."""
