"""Time series forecasting: windows of the past in, the next steps out, from an MLP, a recurrent
encoder or a dilated causal convolution, scored beside classical baselines."""
