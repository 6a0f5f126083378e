"""A FastAPI backend on the SDK: ``uvicorn examples.fastapi_backend.app:app``."""
