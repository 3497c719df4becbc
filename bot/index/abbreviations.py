"""Common DevOps/MLOps abbreviations and their long forms: general vocabulary of the field.

The fallback when the docs never define an abbreviation themselves (see vocabulary.py);
a definition learned from the docs wins over this list.
"""

from __future__ import annotations

ABBREVIATIONS: dict[str, str] = {
    "ml": "machine learning",
    "ai": "artificial intelligence",
    "dl": "deep learning",
    "llm": "large language model",
    "nlp": "natural language processing",
    "ci": "continuous integration",
    "cd": "continuous delivery",
    "k8s": "kubernetes",
    "iac": "infrastructure as code",
    "sre": "site reliability engineering",
    "slo": "service level objective",
    "sla": "service level agreement",
    "sli": "service level indicator",
    "mttr": "mean time to recovery",
    "pr": "pull request",
    "prs": "pull requests",
    "mr": "merge request",
    "qa": "quality assurance",
    "e2e": "end-to-end",
    "rbac": "role-based access control",
    "vm": "virtual machine",
    "vms": "virtual machines",
    "db": "database",
    "repo": "repository",
    "prod": "production",
    "env": "environment",
    "eda": "exploratory data analysis",
}
