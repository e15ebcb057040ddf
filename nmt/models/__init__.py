"""Plain PyTorch models: encoders, attention, decoders and their composition."""
