"""What investigators look at: the case graph of a ring, a lead or an entity (``casegraph``),
seed-and-expand (``expand``), the pages (``render``) and the offline report site (``report``)."""
