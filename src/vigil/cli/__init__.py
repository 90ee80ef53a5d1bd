"""The ``vigil`` command line (Typer and Rich): it parses arguments, calls one function of the
layers below, and prints. It is the only layer that reads the environment and the clock for the
library, and the only one that installs a logging handler.

Where a command lives:

- ``vigil NAME`` is in ``cli/NAME.py`` (``vigil profiles`` in ``profiles.py``);
- ``vigil simulate …`` and ``vigil train …`` are in ``cli/simulate.py`` and ``cli/train.py``;
- ``vigil bench NAME`` is in ``cli/bench/NAME.py``;
- ``console.py`` is everything printed: consoles, progress, log lines, JSON and the one way
  errors are reported; ``options.py`` holds the options several commands share;
- ``app.py`` assembles the commands and nothing else.

Command modules import the heavy layers inside their functions, so ``vigil --help`` stays cheap.
"""
