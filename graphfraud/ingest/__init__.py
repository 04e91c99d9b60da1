"""From a region's files to the workspace: readers per format (``readers``, with the careful
line-by-line path in ``repair``), header mapping (``mapping``), pseudonyms and the vault
(``pseudo``), citizen ID numbers (``idnumber``), and the run that accounts for every row
(``run.ingest``)."""
