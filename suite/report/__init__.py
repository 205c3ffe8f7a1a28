"""The report: read result folders (``collect``), group and tabulate (``groups``,
``tables``, ``text``, pure functions), lay out (``sections``), draw (``figures``) and
render (``render``: Markdown, HTML, CSV); ``diff`` compares two result sets. Nothing
here imports keras or a framework."""
