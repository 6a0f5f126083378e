"""A webhook receiver with a durable inbox: ``uvicorn examples.webhook_receiver.app:app``."""
