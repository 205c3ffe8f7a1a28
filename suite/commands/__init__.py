"""One module per command, its parser beside its handler (as asv keeps
``asv/commands/``): each has ``NAME``, ``add_parser(subparsers)`` and ``handle(args)``;
``suite.cli`` lists them. Handlers validate their input, choose the backend and call
the layers below; nothing here imports keras or a framework at module level."""
