"""The investigator workbench (``graphfraud serve``): queue, case view, cases and their workflow, accounts."""
