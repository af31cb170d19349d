# murmur: the two set-up commands are `make demo` and `make test`.
GO      ?= go
GOFLAGS ?=
export XDG_RUNTIME_DIR ?= $(CURDIR)/out/xdg
DATA_PKGS := dataset-fashion-mnist fortunes
TEST_PKGS := chromium

.PHONY: demo test bench wasm fmt lint check deps test-deps bench-deps soak fuzz murmur

deps:
	@scripts/debian-deps.sh $(DATA_PKGS)
	@mkdir -p $(XDG_RUNTIME_DIR) && chmod 700 $(XDG_RUNTIME_DIR)

# Browser tests: Debian's chromium driven by playwright-core from npm.
test-deps: deps
	@scripts/debian-deps.sh $(TEST_PKGS)
	@scripts/npm-deps.sh internal/e2e

# The TensorFlow.js anchor of `murmur bench train`.
bench-deps: deps
	@scripts/npm-deps.sh internal/bench/tfjs

# A federation on this machine: a relay with its dashboard and 50 devices
# running the wasm training core, compressed SecAgg+, dropouts, links that cut
# and resume (about 3 minutes on 2 cores).
DEMO_FLAGS ?= --example fashion --devices 50 --per-round 10 --rounds 60 --secagg --secagg-fraction 0.3 --dropout 0.1 --flaky 0.05
demo: deps
	$(GO) run ./cmd/murmur simulate $(DEMO_FLAGS)

# The second run takes the pure-Go fallbacks of the assembly (kernels, the
# SecAgg+ mask PRG and encoding, the codecs: what wasm and other GOARCHes run)
# so CI exercises them on amd64 too; the third runs the codecs and the secure
# encoding as browsers do (js/wasm under Node).
test: test-deps lint check
	$(GO) test -timeout 25m ./...
	$(GO) test -tags purego ./runtime/kernels/... ./host/accel/... ./secagg/internal/prg ./secagg ./secagg/encode ./sync/codec/...
	GOOS=js GOARCH=wasm $(GO) test -exec=$$($(GO) env GOROOT)/lib/wasm/go_js_wasm_exec ./sync/codec/... ./secagg/encode

bench: bench-deps
	$(GO) run ./cmd/murmur bench

murmur:
	$(GO) build -o bin/murmur ./cmd/murmur

CORE := wasm/core/core.wasm
wasm:
	GOOS=wasip1 GOARCH=wasm $(GO) build -trimpath -buildmode=c-shared -o $(CORE) ./wasm/core
	@echo "$(CORE): $$(stat -c %s $(CORE)) bytes, sha256 $$(sha256sum $(CORE) | cut -d' ' -f1)"

fmt:
	gofmt -w .

lint:
	$(GO) vet ./...
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

check:
	$(GO) build ./...
	GOOS=wasip1 GOARCH=wasm $(GO) build ./runtime/...
	GOOS=js GOARCH=wasm $(GO) build ./runtime/...
	GOOS=wasip1 GOARCH=wasm $(GO) vet ./wasm/core

# Long runs, not part of `make test`.
soak: deps
	MURMUR_SOAK=1 $(GO) test -timeout 60m ./...

FUZZTIME ?= 30s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "fuzz $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done
