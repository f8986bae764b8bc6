"""What is measured: quantized TFLite workloads, written without TensorFlow, and the suites that name them.

    workloads.py       a workload: its definition, its TFLite file (cached by hash), its inputs
    suites.py          smoke, conv, full and a user's model: workloads with measurement settings
    inception.py       Inception-v3 at 299x299, and every conv2d configuration it has
    graph.py           quantized graphs from a float description, calibrated on the way
    tflite_writer.py   TFLite flatbuffers through the `tflite` schema package

Part of the engine: the same import rules hold (tests/test_layout.py).
"""
