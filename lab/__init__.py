"""Traffic and evaluations: the platform simulator and its payload encoders, scripted
and random scenarios, the classifier's corpus, training and evaluation, the surge
evaluation. Never imported by the worker."""
