"""perfbot: a CI bot and performance tracker for Apache TVM's quantized inference on ARM.

This package never imports TVM: the TVM under test runs in child processes
(see bot/child/measure.py), so a crash there is a recorded result, not a crash here.
"""

__version__ = "0.1.0"
