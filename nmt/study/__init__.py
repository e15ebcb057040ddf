"""Studies of the models themselves rather than of a task: `nmt study memory` (how far back each
recurrent cell, and a dilated causal convolution, can remember)."""
