"""Notebook set-up: interactive maps and widgets that work without a network.

HoloViews, hvPlot and Panel render in the browser with the BokehJS and Panel JavaScript
libraries. By default they load them from ``cdn.bokeh.org`` and ``cdn.holoviz.org``; on a
machine without internet (a classroom, an HPC login node, CI) every map and widget is then an
empty box. :func:`setup` is the one place every sm_nb notebook calls instead of
``pn.extension()``: it switches Panel and HoloViews to **inline resources**, so the JavaScript
and CSS are sent by the kernel into the notebook's set-up cell output and nothing is requested
from the internet. This costs about 6 MB in that cell's output (once per notebook, whatever
the number of plots; measured by ``tests/test_offline.py``); committed notebooks carry no
outputs, so the repository does not grow.

Panel inlines the stylesheets of the objects it displays itself, but not of those HoloViews
displays (a map returned by a cell): their component stylesheets would still be fetched from
``cdn.holoviz.org``. :func:`setup` therefore registers a Panel pre-processing hook (the extension
point Panel uses for its own links) that swaps every CDN stylesheet of a rendered model for the
same CSS inlined from Panel's installed ``dist`` folder.

Why not ``BOKEH_RESOURCES=inline``: Panel and HoloViews choose their resources themselves
(``panel.config.inline``, ``holoviews.extension.inline``) and ignore Bokeh's setting. Why not
``import hvplot.xarray`` in sm_nb: that import loads the extension from the CDN as a side
effect, before any set-up can run; :mod:`sm_nb.plots` therefore uses hvPlot's classes
directly and importing sm_nb displays nothing.
"""

from __future__ import annotations

from typing import Any

__all__ = ["setup", "configure_offline"]


def configure_offline() -> None:
    """Make Panel, HoloViews and Bokeh inline their JavaScript and CSS (no CDN requests).

    Idempotent and silent: it sets ``panel.config.inline``, the default of
    ``holoviews.extension(inline=...)`` (which hvPlot's extension inherits) and Bokeh's
    ``resources`` setting (used by ``holoviews.save`` / ``bokeh.io.save``) for this process.
    Nothing is displayed; call :func:`setup` in a notebook.
    """
    import holoviews as hv
    import panel as pn
    from bokeh.settings import settings as bk_settings

    pn.config.inline = True
    hv.extension.inline = True
    bk_settings.resources = "inline"


def setup(*extensions: str, **panel_kwargs: Any) -> None:
    """Load the interactive layer in a notebook, offline: call once, in the imports cell.

    Replaces ``pn.extension()``. Loads HoloViews' Bokeh backend (the display hooks that turn a
    returned map into a plot) and Panel with **inline** resources, so every map, plot and widget
    renders and responds in JupyterLab, in the executed notebooks ``sm-nb run`` writes and in
    their HTML pages without any request leaving the machine.

    Parameters
    ----------
    *extensions : str
        Extra Panel extensions (``"tabulator"``, ``"mathjax"`` …), passed to ``pn.extension``.
    **panel_kwargs
        Passed to ``pn.extension`` (e.g. ``sizing_mode="stretch_width"``); ``inline`` is forced.

    Notes
    -----
    The JavaScript of Bokeh and Panel (about 6 MB) is written once into this cell's output, so an
    executed or saved notebook grows by that much; the committed notebooks have no outputs. Outside
    a notebook (a script, a test) the call configures inline resources and displays nothing.
    """
    import holoviews as hv
    import panel as pn

    configure_offline()
    _register_inline_stylesheets()
    panel_kwargs = {**panel_kwargs, "inline": True}
    if not getattr(hv.extension, "_loaded", False):
        hv.extension("bokeh", logo=False, inline=True)
    pn.extension(*extensions, **panel_kwargs)


def _inline_stylesheets(viewable: Any, root: Any, changed: Any = None, old_models: Any = None) -> None:
    """Panel pre-processing hook: CDN stylesheets of every model under ``root`` → inline CSS."""
    import panel as pn
    from bokeh.models import UIElement
    from panel.io.notebook import patch_inline_stylesheets

    if not pn.config.inline:
        return
    for model in root.select({"type": UIElement}):
        patch_inline_stylesheets(model)


def _register_inline_stylesheets() -> None:
    """Inline Panel's CDN stylesheets (once): when models are created or updated, and as a
    pre-processing hook for the models HoloViews displays.

    The pre-processing hook alone is too late for objects added to a live layout (a widget
    callback adding a table or a map): their stylesheet links reach the browser before the hook
    replaces them, and an offline browser requests them. Wrapping
    ``Syncable._process_param_change`` — where Panel turns a component's ``stylesheets`` into
    model properties — hands every model inline CSS from the start.
    """
    from panel.reactive import Syncable
    from panel.viewable import Viewable

    if _inline_stylesheets not in Viewable._preprocessing_hooks:
        Viewable._preprocessing_hooks.append(_inline_stylesheets)
    if getattr(Syncable._process_param_change, "_sm_nb_inline", False):
        return
    original = Syncable._process_param_change

    def process_param_change(self: Any, params: dict[str, Any]) -> dict[str, Any]:
        props = original(self, params)
        import panel as pn

        if pn.config.inline and props.get("stylesheets"):
            from bokeh.models import ImportedStyleSheet
            from panel.io.notebook import replace_inline_css

            props["stylesheets"] = [replace_inline_css(st) if isinstance(st, ImportedStyleSheet) else st
                                    for st in props["stylesheets"]]
        return props

    process_param_change._sm_nb_inline = True  # type: ignore[attr-defined]
    Syncable._process_param_change = process_param_change
