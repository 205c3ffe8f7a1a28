"""Training in rounds: a coordinator and one worker process per participant, taking
turns through the messages in ``protocol`` (pyperf's runner/worker split)."""
