# The two commands a newcomer runs: `make demo` and `make test`. Both install what is missing.
SWIFT ?= swift
BACKFLOW := .build/debug/backflow

.PHONY: deps build demo test clean

deps:
	@scripts/install-deps.sh

build: deps
	$(SWIFT) build

# A real project on embedded SQLite, no servers: seed the demo warehouse, then validate and show it.
demo: build
	@scripts/demo.sh $(BACKFLOW)

# Every test, PostgreSQL ones included, against a throwaway cluster that is always stopped.
test: deps
	$(SWIFT) build --build-tests
	scripts/with-postgres.sh $(SWIFT) test --skip-build

clean:
	rm -rf .build .backflow demo/*.db out
