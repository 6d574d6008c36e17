"""The queue's revisions, oldest first."""
