"""The command-line interface: the parser (``cli.parser``), one module of commands per theme, how a run ends
(``cli.outcome``). ``main.py`` is the entry point; the engine does the work, these modules parse and print."""
