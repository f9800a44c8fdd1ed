"""The programs here are scripts that ``test_programs.py`` runs, not modules for pytest to import
(``--doctest-modules`` would, and fail where an optional library is missing)."""

collect_ignore = ["gpt_char.py", "onnx_roundtrip.py", "_runner.py",
                  # the Keras programs train models when imported; test_keras_programs.py runs them
                  "custom_train_step.py", "mnist_convnet.py", "text_and_numbers.py"]
