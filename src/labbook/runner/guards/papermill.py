"""The papermill engine internals the build relies on, and nothing else.

The build runs notebooks with papermill's nbclient engine, changed in one way: the executed
notebook is written once, at the end, instead of whole at every cell's start and end (0.2 s of a
light report's 3 s); when execution stops on a timeout or a dead kernel, the cells run so far are
still written, to *partial_path*. That relies on papermill internals, used only here:

- ``papermill.engines.NBClientEngine.execute_managed_notebook(nb_man, kernel_name, **kwargs)``
  runs the notebook held by ``nb_man`` (a NotebookExecutionManager), and papermill passes the
  engine every keyword argument of ``execute_notebook`` it does not know (here *partial_path*);
- with ``request_save_on_cell_execute=False`` papermill leaves ``nb_man.output_path`` empty, so
  nothing is written while cells run; after the engine returns or raises, papermill calls
  ``nb_man.notebook_complete()``, which writes ``nb_man.nb`` to ``nb_man.output_path`` when that
  is set; so setting it while an exception passes writes the partial notebook;
- nbclient's CellTimeoutError and DeadKernelError reach the caller of ``execute_notebook``
  unwrapped (the build tells a timeout from a dead kernel by their types).

tests/test_guards_runner.py runs a notebook through this engine (a timeout, a dead kernel, a
success) and fails naming this module when a papermill release changes any of this.
"""

ENGINE = "labbook"

_registered = False


def engine_name() -> str:
    """Register (once per process) and name the build's papermill engine."""
    global _registered
    if not _registered:
        from papermill.engines import NBClientEngine, papermill_engines

        class SaveAtEnd(NBClientEngine):
            @classmethod
            def execute_managed_notebook(cls, nb_man, kernel_name, partial_path=None, **kwargs):
                try:
                    return super().execute_managed_notebook(nb_man, kernel_name, **kwargs)
                except BaseException:
                    if partial_path:
                        nb_man.output_path = partial_path  # written by notebook_complete()
                    raise

        papermill_engines.register(ENGINE, SaveAtEnd)
        _registered = True
    return ENGINE
