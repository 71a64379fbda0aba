# The two commands a newcomer runs: `make demo` and `make test`. Both install what is missing.
SWIFT ?= swift
BACKFLOW := .build/debug/backflow
# make bench builds release in its own scratch directory: SwiftPM locks one while it builds, so a
# benchmark build never waits for (or blocks) a debug build or test run in .build.
BENCH_BUILD ?= .build-bench
# make release builds in its own scratch directory too, with the Swift runtime linked in.
RELEASE_BUILD ?= .build-release
VERSION := $(shell sed -n 's/.*static let current = "\(.*\)"/\1/p' Sources/BackflowCommands/Backflow.swift)
ARCH := $(shell uname -m)
ARCHIVE := dist/backflow-$(VERSION)-linux-$(ARCH).tar.gz
# The commit a release is built from, "-dirty" when Sources/ or Package.swift differ from it.
RELEASE_COMMIT := $(shell git rev-parse HEAD)$(shell git diff --quiet HEAD -- Sources Package.swift || echo -dirty)

.PHONY: deps build demo test bench bench-large bench-web release fuzz clean

deps:
	@scripts/install-deps.sh

build: deps
	$(SWIFT) build

# A real project on embedded SQLite, no servers: seed the demo warehouse, then validate and show it.
demo: build
	@scripts/demo.sh $(BACKFLOW)

# Every test, PostgreSQL, MySQL and Spark Connect ones included, against throwaway servers that are
# always stopped.
test: deps
	scripts/check_imports.py
	$(SWIFT) build --build-tests
	scripts/with-postgres.sh scripts/with-mariadb.sh scripts/with-spark.sh $(SWIFT) test --skip-build

# A binary that runs where Swift is not installed: the Swift runtime and Foundation linked in
# (--static-swift-stdlib), the commit baked in (backflow_build.h, read by Sources/CBackflowBuild),
# packed as dist/backflow-VERSION-linux-ARCH.tar.gz with its .sha256, then checked by
# scripts/check-release.sh (ldd, and validate/plan/apply on the demo from an empty environment).
# Not part of `make test`: a release build takes many minutes on two cores (docs/development.md).
release: deps
	mkdir -p $(RELEASE_BUILD)/generated dist
	printf '#define BACKFLOW_BUILD_COMMIT "%s"\n' "$(RELEASE_COMMIT)" > $(RELEASE_BUILD)/generated/backflow_build.h.new
	cmp -s $(RELEASE_BUILD)/generated/backflow_build.h.new $(RELEASE_BUILD)/generated/backflow_build.h \
	  || mv $(RELEASE_BUILD)/generated/backflow_build.h.new $(RELEASE_BUILD)/generated/backflow_build.h
	rm -f $(RELEASE_BUILD)/generated/backflow_build.h.new
	$(SWIFT) build -c release --static-swift-stdlib --scratch-path $(RELEASE_BUILD) --product backflow \
	  -Xcc -I$(CURDIR)/$(RELEASE_BUILD)/generated
	rm -rf $(RELEASE_BUILD)/pack && mkdir -p $(RELEASE_BUILD)/pack/backflow-$(VERSION)
	cp $(RELEASE_BUILD)/release/backflow README.md $(RELEASE_BUILD)/pack/backflow-$(VERSION)/
	strip $(RELEASE_BUILD)/pack/backflow-$(VERSION)/backflow
	tar -C $(RELEASE_BUILD)/pack -czf $(ARCHIVE) backflow-$(VERSION)
	cd dist && sha256sum $(notdir $(ARCHIVE)) > $(notdir $(ARCHIVE)).sha256
	scripts/check-release.sh $(ARCHIVE) $(RELEASE_COMMIT)

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

# Each libFuzzer target in Fuzz/ for FUZZ_SECONDS (FUZZ_TARGETS="json cron" for some): built in
# Fuzz/.build with -sanitize=fuzzer,address, which `swift build` and `make test` never use. Seeds
# and past crashes come from Fuzz/Corpus/TARGET (which `make test` replays); what libFuzzer learns
# goes to Fuzz/.build/corpus/TARGET and a crash to Fuzz/.build/crashes/TARGET/ (docs/development.md).
# Leaks are not reported: LeakSanitizer found 4 KiB lost per file inside FoundationEssentials'
# FileManager.contents(atPath:) (two files of one input), which stopped the project target at once,
# and 75 MB of the same at exit after ten minutes; ASAN_OPTIONS turns off the check at exit too.
FUZZ_SECONDS ?= 600
FUZZ_TARGETS ?= project template json cron plan-file result-path
fuzz: deps
	cd Fuzz && $(SWIFT) build -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library
	for target in $(FUZZ_TARGETS); do \
	  mkdir -p Fuzz/.build/corpus/$$target Fuzz/.build/crashes/$$target && \
	  ASAN_OPTIONS=detect_leaks=0 Fuzz/.build/debug/fuzz-$$target -max_total_time=$(FUZZ_SECONDS) -timeout=10 \
	    -detect_leaks=0 -print_final_stats=1 \
	    -artifact_prefix=Fuzz/.build/crashes/$$target/ Fuzz/.build/corpus/$$target Fuzz/Corpus/$$target || exit 1; \
	done

clean:
	rm -rf .build Fuzz/.build $(BENCH_BUILD) $(RELEASE_BUILD) dist .backflow demo/*.db out
