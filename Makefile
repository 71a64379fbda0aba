# The two commands a newcomer runs: `make demo` and `make test`. Both install what is missing.
SWIFT ?= swift
BACKFLOW := .build/debug/backflow
# make bench builds release in its own scratch directory: SwiftPM locks one while it builds, so a
# benchmark build never waits for (or blocks) a debug build or test run in .build.
BENCH_BUILD ?= .build-bench

.PHONY: deps build demo test bench bench-large bench-web clean

deps:
	@scripts/install-deps.sh

build: deps
	$(SWIFT) build

# A real project on embedded SQLite, no servers: seed the demo warehouse, then validate and show it.
demo: build
	@scripts/demo.sh $(BACKFLOW)

# Every test, PostgreSQL and MySQL ones included, against throwaway servers that are always stopped.
test: deps
	scripts/check_imports.py
	$(SWIFT) build --build-tests
	scripts/with-postgres.sh scripts/with-mariadb.sh $(SWIFT) test --skip-build

# `backflow plan` on PostgreSQL models of 100k and 1M rows (BENCH_SIZES="..." for others): wall time
# and peak RSS next to a psql COPY floor, as a table and in bench/results.json. See bench/README.md.
bench: deps
	$(SWIFT) build -c release --scratch-path $(BENCH_BUILD)
	BACKFLOW=$(BENCH_BUILD)/release/backflow scripts/with-postgres.sh bench/run.sh

# The same with 5,000,000 rows as well: peak RSS at 1M against 5M shows whether memory grows.
bench-large:
	BENCH_SIZES="100000 1000000 5000000" $(MAKE) bench

# `backflow serve` on a sync with 10,000 runs and a run with 100,000 failed rows: seconds per page.
bench-web: deps
	$(SWIFT) build -c release --scratch-path $(BENCH_BUILD) --product backflow
	BACKFLOW=$(BENCH_BUILD)/release/backflow bench/web.sh

clean:
	rm -rf .build $(BENCH_BUILD) .backflow demo/*.db out
