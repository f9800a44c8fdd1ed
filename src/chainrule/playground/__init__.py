"""The chainrule Playground: a TensorFlow-Playground-style page where a network trains live.

Run ``chainrule playground`` (or ``python -m chainrule.playground.server``); needs the
``playground`` extra (``pip install chainrule[playground]``).
"""
