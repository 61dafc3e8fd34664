"""Generated from schemas/ by `pubsub generate`. Do not edit."""
