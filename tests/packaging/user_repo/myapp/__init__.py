"""A user's service built on hipponot-pubsub; its events are generated into ``myapp.events``."""
