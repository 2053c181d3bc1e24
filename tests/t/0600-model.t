#!/usr/bin/env bash
# The spool against a reference model of its state machine (tests/model/):
# long random sequences of actions by agents, reviewers and operators, by
# raw mv and by commands, legal and not, first without spoold (a reconcile
# or the next command records each step), then with spoold recording. After
# every step the files and the trailers of the new commits must match the
# model. MODEL_STEPS=N for a longer run, MODEL_SEED=S to replay one.
. "$(dirname "$0")/../lib.sh"
steps=${MODEL_STEPS:-100}
for mode in plain daemon; do
	spool init "$T/$mode" >/dev/null || exit 1
	python3 "$TOP/tests/model/run.py" --spool "$T/$mode" --mode "$mode" \
		--steps "$steps" ${MODEL_SEED:+--seed "$MODEL_SEED"}
	ok $? "$mode: $steps steps match the model"
done
done_testing
