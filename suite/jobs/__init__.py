"""Jobs that span the products: ``compare`` runs the matrix (``suite.measure``), then the
checks (``suite.checks``), then the report (``suite.report``), which never import each
other; a job here sequences them for one command, from its settings object."""
