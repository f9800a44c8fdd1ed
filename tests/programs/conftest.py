# The programs are scripts that train models when imported; test_programs.py runs them.
collect_ignore = ["custom_train_step.py", "mnist_convnet.py", "text_and_numbers.py"]
