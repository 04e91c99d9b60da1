"""Synthetic regions with planted rings and a truth file: the default generator
(``generate``), the hard one with the look-alikes real regions have (``hard``), and the
name and place lists they draw from (``names``)."""
