"""生态修复: what follows the index — common problems, recommendation drafts, follow-up."""
