# Shortcuts for the scripts, which do their own set-up.
.PHONY: test bench bench-quick

test:
	bash scripts/test.sh

bench:
	bash scripts/bench.sh

bench-quick:
	bash scripts/bench.sh --quick
