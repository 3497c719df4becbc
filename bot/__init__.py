"""opsbot: answers DevOps and MLOps questions from a knowledge base, offline on a CPU."""

__version__ = "0.1.0"
