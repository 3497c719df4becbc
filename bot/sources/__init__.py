"""Where knowledge comes from: named sources (folders, git repositories, docs websites)."""
