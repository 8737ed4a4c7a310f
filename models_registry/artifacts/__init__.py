"""A version's model file: stored by its hash, loaded per framework, compiled into a tree predictor,
built (the ONNX LSTM) and exported for Triton and KServe."""
