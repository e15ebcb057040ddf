"""What every task shares and no task owns: the run directory, configs, the training loop and
its callbacks, optimiser and schedules, precision, cross-rank validation. Imports no task."""
