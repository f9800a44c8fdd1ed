"""Computation-graph drawing: ``cr.viz.graph(tensor)`` gives Graphviz DOT text, rendered to
SVG/PNG when the optional ``viz`` extra (the ``graphviz`` package) and ``dot`` are installed."""

from chainrule.viz.graph import Graph, graph

__all__ = ["Graph", "graph"]
